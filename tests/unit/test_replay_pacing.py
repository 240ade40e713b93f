"""Re-publish pacing (send_at = t0_wall + (ts - ts0) / N) and the per-partition-order-keeping merge."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from streams.replay.pacing import Pacing, merge_by_time, parse_speed
from streams.replay.reader import Record
from streams.replay.republish import republish

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


class FakeClock:
    """A clock that only moves when the code under test sleeps (so sends land exactly on send_at)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Sent:
    record: Record
    at: float


class CollectingTarget:
    description = "a list"

    def __init__(self, clock: FakeClock, skip_partition: int | None = None) -> None:
        self.clock = clock
        self.skip_partition = skip_partition
        self.sent: list[Sent] = []
        self.closed = False

    def send(self, record: Record) -> str | None:
        if record.partition == self.skip_partition:
            return "not wanted"
        self.sent.append(Sent(record, self.clock()))
        return None

    def close(self) -> None:
        self.closed = True


def rec(partition: int, offset: int, ts_ms: int) -> Record:
    return Record("t", partition, offset, ts_ms, b"k", b"{}")


def test_republish_sends_each_record_at_t0_plus_its_recorded_offset_over_n() -> None:
    clock = FakeClock(100.0)
    target = CollectingTarget(clock)
    streams = {0: iter([rec(0, 0, 1_000), rec(0, 1, 21_000)]), 1: iter([rec(1, 0, 11_000)])}
    summary = republish(streams, target, 10.0, clock=clock, sleep=clock.sleep)
    assert [(s.record.partition, s.record.offset, s.at) for s in target.sent] == [
        (0, 0, 100.0),
        (1, 0, pytest.approx(101.0)),
        (0, 1, pytest.approx(102.0)),
    ]
    assert summary.sent == 3
    assert summary.span_s == pytest.approx(20.0)
    assert summary.percentile(0.99) == pytest.approx(0.0, abs=1e-9)
    assert target.closed


def test_republish_counts_what_the_target_skips() -> None:
    clock = FakeClock(0.0)
    target = CollectingTarget(clock, skip_partition=1)
    streams = {0: iter([rec(0, 0, 0)]), 1: iter([rec(1, 0, 5), rec(1, 1, 6)])}
    summary = republish(streams, target, math.inf, clock=clock, sleep=clock.sleep)
    assert summary.sent == 1
    assert summary.skipped == {"not wanted": 2}
