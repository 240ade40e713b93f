"""Which offsets a replay reads: the pure part, from what Kafka answered to a plan per partition.

Kafka's ``offsets_for_times(t)`` gives, per partition, the first offset whose record timestamp is at or
after ``t``, or ``-1`` when no record is at or after ``t``. For a time older than the oldest record still
retained it silently gives that oldest offset: only comparing the timestamp of the record found there
with the asked time tells a range cut by retention from one that simply starts before the first event.

A plan is fixed before any record is read: the end offsets come from ``offsets_for_times(end)`` or, with
no end, from the high watermarks read up front, so a replay of a live topic ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

# What offsets_for_times answers for "no record at or after that time".
NO_OFFSET = -1


class RetentionError(ValueError):
    """The range starts before the oldest record the topic still retains."""

    def __init__(self, topic: str, asked: datetime, oldest: datetime) -> None:
        self.topic = topic
        self.asked = asked
        self.oldest = oldest
        super().__init__(
            f"{topic} no longer holds records from {asked.isoformat()}: the oldest time available is "
            f"{oldest.isoformat()} (retention deleted what came before); start at or after it"
        )


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Record timestamps from ``start`` (inclusive) to ``end`` (exclusive); no end: up to now."""

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        for name, value in (("start", self.start), ("end", self.end)):
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} {value.isoformat()} has no time zone")
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} is not after start {self.start.isoformat()}")


@dataclass(frozen=True, slots=True)
class Watermarks:
    """A partition's low (oldest retained) and high (next to be written) offsets."""

    low: int
    high: int


@dataclass(frozen=True, slots=True)
class PartitionPlan:
    """Read ``[start, end)`` of one partition; ``start == end`` reads nothing."""

    partition: int
    start: int
    end: int

    @property
    def count(self) -> int:
        return self.end - self.start


def to_millis(moment: datetime) -> int:
    """Kafka timestamps are milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)


def from_millis(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def check_retention(
    topic: str,
    asked: datetime,
    start_offset: int,
    watermarks: Watermarks,
    first_timestamp_ms: int | None,
) -> None:
    """Raise :class:`RetentionError` when ``offsets_for_times(asked)`` fell back to the oldest retained record.

    ``first_timestamp_ms`` is the timestamp of the record at ``start_offset``. The fallback is at work when
    the found offset is the low watermark, records before it were deleted (low > 0), and the record found
    is newer than the time asked: the records between ``asked`` and it may be among those deleted.
    """
    if start_offset == NO_OFFSET or first_timestamp_ms is None:
        return
    if start_offset == watermarks.low and watermarks.low > 0 and first_timestamp_ms > to_millis(asked):
        raise RetentionError(topic, asked, from_millis(first_timestamp_ms))


def plan_partition(partition: int, start_offset: int, end_offset: int | None, watermarks: Watermarks) -> PartitionPlan:
    """One partition's plan from ``offsets_for_times`` at the start and (optionally) at the end.

    A start of -1 means nothing at or after the start: an empty plan. An end of -1, or no end asked,
    means up to the high watermark read before the replay begins.
    """
    if start_offset == NO_OFFSET:
        return PartitionPlan(partition, watermarks.high, watermarks.high)
    start = max(start_offset, watermarks.low)
    end = watermarks.high if end_offset is None or end_offset == NO_OFFSET else min(end_offset, watermarks.high)
    return PartitionPlan(partition, start, max(start, end))


def plan_topic(
    starts: Mapping[int, int], ends: Mapping[int, int] | None, watermarks: Mapping[int, Watermarks]
) -> list[PartitionPlan]:
    """Plans of every partition, in partition order; ``ends`` None when the range has no end."""
    missing = (set(watermarks) - set(starts)) | (set(watermarks) - set(ends) if ends is not None else set())
    if missing:
        raise ValueError(f"no offsets_for_times answer for partitions {sorted(missing)}")
    return [plan_partition(p, starts[p], None if ends is None else ends[p], watermarks[p]) for p in sorted(watermarks)]


def pending(plans: list[PartitionPlan]) -> int:
    return sum(plan.count for plan in plans)
