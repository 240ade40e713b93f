"""Problem sources: benchmark-instance parsers, the bundled classic instances and the seeded plant
order-book generator."""

from rescheduler.instances.bundled import DATA_DIR, instance_path, known_bounds
from rescheduler.instances.orlib import load, parse_fjsp, parse_jssp

__all__ = ["DATA_DIR", "instance_path", "known_bounds", "load", "parse_fjsp", "parse_jssp"]
