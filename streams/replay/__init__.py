"""Replay: rebuild the raw tables and aggregates of a time range, or re-publish a recorded range at ×N."""

from streams.replay.pacing import Pacing, merge_by_time, parse_speed
from streams.replay.ranges import PartitionPlan, RetentionError, TimeRange, Watermarks, check_retention, plan_topic
from streams.replay.reader import Record, ReplayReader, TopicPlan

__all__ = [
    "Pacing",
    "PartitionPlan",
    "Record",
    "ReplayReader",
    "RetentionError",
    "TimeRange",
    "TopicPlan",
    "Watermarks",
    "check_retention",
    "merge_by_time",
    "parse_speed",
    "plan_topic",
]
