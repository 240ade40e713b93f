"""Replay planning: offsets_for_times answers -> per-partition plans, -1, retention fallback detection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.replay.ranges import (
    NO_OFFSET,
    PartitionPlan,
    RetentionError,
    TimeRange,
    Watermarks,
    check_retention,
    from_millis,
    pending,
    plan_partition,
    plan_topic,
    to_millis,
)

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def test_start_of_minus_one_reads_nothing() -> None:
    plan = plan_partition(0, NO_OFFSET, None, Watermarks(0, 40))
    assert plan == PartitionPlan(0, 40, 40)
    assert plan.count == 0


def test_no_end_reads_to_the_high_watermark_read_before_starting() -> None:
    assert plan_partition(1, 12, None, Watermarks(0, 40)) == PartitionPlan(1, 12, 40)


def test_end_of_minus_one_means_nothing_after_the_end_so_up_to_the_high_watermark() -> None:
    assert plan_partition(1, 12, NO_OFFSET, Watermarks(0, 40)) == PartitionPlan(1, 12, 40)


def test_end_offset_is_exclusive_and_capped_by_the_high_watermark() -> None:
    assert plan_partition(2, 12, 30, Watermarks(0, 40)).count == 18
    assert plan_partition(2, 12, 55, Watermarks(0, 40)) == PartitionPlan(2, 12, 40)


def test_end_before_start_is_empty_not_negative() -> None:
    assert plan_partition(0, 30, 20, Watermarks(0, 40)).count == 0


def test_plan_topic_orders_partitions_and_counts() -> None:
    marks = {1: Watermarks(0, 10), 0: Watermarks(5, 20)}
    plans = plan_topic({0: 7, 1: NO_OFFSET}, {0: 15, 1: NO_OFFSET}, marks)
    assert plans == [PartitionPlan(0, 7, 15), PartitionPlan(1, 10, 10)]
    assert pending(plans) == 8


def test_plan_topic_rejects_a_partition_without_an_answer() -> None:
    with pytest.raises(ValueError, match=r"partitions \[1\]"):
        plan_topic({0: 0}, None, {0: Watermarks(0, 1), 1: Watermarks(0, 1)})


def test_start_before_retention_is_an_error_naming_the_oldest_time() -> None:
    oldest = T0 + timedelta(hours=3)
    with pytest.raises(RetentionError) as info:
        check_retention("shopfloor.telemetry", T0, 100, Watermarks(100, 500), to_millis(oldest))
    assert info.value.oldest == oldest
    assert oldest.isoformat() in str(info.value)
    assert "shopfloor.telemetry" in str(info.value)


def test_start_within_retention_is_fine() -> None:
    # The found record is at the low watermark but no newer than the start: nothing before it was lost.
    check_retention("t", T0, 100, Watermarks(100, 500), to_millis(T0))
    # A record found past the low watermark: offsets_for_times found a real answer.
    check_retention("t", T0, 150, Watermarks(100, 500), to_millis(T0 + timedelta(hours=1)))


def test_start_before_the_first_record_of_an_untrimmed_topic_is_fine() -> None:
    # Nothing was ever deleted (low watermark 0): the range simply starts before the first event.
    check_retention("t", T0, 0, Watermarks(0, 500), to_millis(T0 + timedelta(days=1)))


def test_nothing_at_or_after_the_start_is_not_a_retention_error() -> None:
    check_retention("t", T0, NO_OFFSET, Watermarks(100, 500), None)


def test_time_range_must_be_aware_and_ordered() -> None:
    with pytest.raises(ValueError, match="time zone"):
        TimeRange(datetime(2026, 3, 2, 6, 0))
    with pytest.raises(ValueError, match="not after"):
        TimeRange(T0, T0)
    assert TimeRange(T0, None).end is None


def test_millis_round_trip() -> None:
    assert from_millis(to_millis(T0)) == T0
