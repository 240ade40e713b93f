"""Bottleneck detection over the order processor's workcenter load (``bottleneck.*`` events)."""

from streams.bottleneck.detect import BottleneckDetector, Cleared, Detected, DetectorConfig

__all__ = ["BottleneckDetector", "Cleared", "Detected", "DetectorConfig"]
