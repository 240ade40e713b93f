"""Problem sources: benchmark-instance parsers and the seeded plant order-book generator."""

from rescheduler.instances.orlib import load, parse_fjsp, parse_jssp

__all__ = ["load", "parse_fjsp", "parse_jssp"]
