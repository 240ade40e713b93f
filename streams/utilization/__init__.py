"""Utilization and OEE per machine per minute: a bytewax dataflow (``build_flow``) and its sink."""

from streams.utilization.flow import DEFAULT_LATENESS, LateSample, build_flow
from streams.utilization.minutes import MinuteRow, compute_minute
from streams.utilization.planned import PlantCalendar
from streams.utilization.rebuild import carry_before
from streams.utilization.sink import UtilizationSink, write_results

__all__ = [
    "DEFAULT_LATENESS",
    "LateSample",
    "MinuteRow",
    "PlantCalendar",
    "UtilizationSink",
    "build_flow",
    "carry_before",
    "compute_minute",
    "write_results",
]
