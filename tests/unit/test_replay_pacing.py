"""Re-publish pacing (send_at = t0_wall + (ts - ts0) / N) and the per-partition-order-keeping merge."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from streams.replay.pacing import Pacing, merge_by_time, parse_speed

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Rec:
    partition: int
    offset: int
    timestamp_ms: int


def test_send_at_divides_record_time_by_the_speed() -> None:
    pacing = Pacing(ts0_ms=1_000_000, t0_wall=50.0, speed=10.0)
    assert pacing.send_at(1_000_000) == 50.0
    assert pacing.send_at(1_060_000) == pytest.approx(56.0)
    assert pacing.wait(1_060_000, now=55.0) == pytest.approx(1.0)
    assert pacing.wait(1_060_000, now=57.0) == 0.0


def test_max_speed_never_waits() -> None:
    pacing = Pacing(ts0_ms=0, t0_wall=5.0, speed=math.inf)
    assert pacing.wait(10**9, now=5.0) == 0.0


@pytest.mark.parametrize(("text", "speed"), [("10", 10.0), ("x10", 10.0), ("2.5x", 2.5), ("max", math.inf)])
def test_parse_speed(text: str, speed: float) -> None:
    assert parse_speed(text) == speed


@pytest.mark.parametrize("text", ["0", "-3", "fast", "nan"])
def test_parse_speed_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="speed"):
        parse_speed(text)


def test_pacing_rejects_a_non_positive_speed() -> None:
    with pytest.raises(ValueError, match="speed"):
        Pacing(0, 0.0, 0.0)


def test_merge_is_by_time_across_partitions() -> None:
    a = [Rec(0, 0, 10), Rec(0, 1, 30)]
    b = [Rec(1, 0, 20), Rec(1, 1, 40)]
    assert [r.timestamp_ms for r in merge_by_time({0: a, 1: b})] == [10, 20, 30, 40]


def test_merge_keeps_each_partitions_offset_order_even_when_its_time_steps_back() -> None:
    # Partition 0 has a record stamped earlier than its predecessor (a producer's clock stepped back).
    a = [Rec(0, 0, 10), Rec(0, 1, 50), Rec(0, 2, 5)]
    b = [Rec(1, 0, 20), Rec(1, 1, 60)]
    merged = list(merge_by_time({0: a, 1: b}))
    assert [r.offset for r in merged if r.partition == 0] == [0, 1, 2]
    assert [r.offset for r in merged if r.partition == 1] == [0, 1]
    assert len(merged) == 5
    # The late-stamped record comes right after its predecessor, before partition 1's later one.
    assert merged.index(Rec(0, 2, 5)) < merged.index(Rec(1, 1, 60))


def test_merge_of_empty_partitions() -> None:
    assert list(merge_by_time({0: [], 1: [Rec(1, 0, 3)]})) == [Rec(1, 0, 3)]
