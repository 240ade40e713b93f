"""Pure minute-bucket and OEE math: no bytewax, no database, unit-tested on its own.

A machine's minute is computed from the state it was in when the minute began (carried over from the
minute before), the state changes and counter readings stamped inside the minute, and the planned
production time the plant calendar gives that minute. Definitions (ISO 22400 / common practice):

- planned production time: shift time less planned stops (planned maintenance windows; breaks where
  the calendar models them). Time outside any shift is not planned and is not a loss;
- availability = run time inside planned time ÷ planned production time. Every non-running second of
  planned time is a loss, SETUP (changeover) included;
- performance = ideal cycle × total count ÷ run time. Over 1 means the plant model's ideal cycle is
  wrong: the value is kept as it is and ``performance_over_ideal`` flags it, never clamped;
- quality = good ÷ total count;
- OEE = availability × performance × quality; 0 when availability is 0 (a machine down for the whole
  planned minute), NULL when any factor is undefined otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from shopfloor.events import MachineState

BUCKET = timedelta(minutes=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATES: tuple[MachineState, ...] = tuple(MachineState)
_STATE_INDEX = {state: i for i, state in enumerate(STATES)}

Interval = tuple[datetime, datetime]
PlannedTime = Callable[[str, datetime, datetime], Sequence[Interval]]
"""(machine id, start, end) -> planned production intervals inside [start, end), sorted, disjoint."""


def bucket_of(ts: datetime) -> datetime:
    """Start of the UTC minute holding ``ts`` (aware)."""
    return ts.replace(second=0, microsecond=0)


def window_start(window_id: int) -> datetime:
    """Minute of a tumbling window id (windows aligned to the epoch, one minute long)."""
    return EPOCH + window_id * BUCKET


def split_interval(start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """The seconds of ``[start, end)`` falling in each minute bucket, exactly.

    A FAULT from 10:00:40 to 10:02:10 gives 20 s to 10:00, 60 s to 10:01 and 10 s to 10:02.
    """
    pieces: list[tuple[datetime, float]] = []
    bucket = bucket_of(start)
    while bucket < end:
        lo, hi = max(start, bucket), min(end, bucket + BUCKET)
        if hi > lo:
            pieces.append((bucket, (hi - lo).total_seconds()))
        bucket += BUCKET
    return pieces


def overlap_s(lo: datetime, hi: datetime, intervals: Iterable[Interval]) -> float:
    """Seconds of ``[lo, hi)`` inside the intervals."""
    total = 0.0
    for a, b in intervals:
        x, y = max(lo, a), min(hi, b)
        if y > x:
            total += (y - x).total_seconds()
    return total


EventKey = uuid.UUID | str
"""An event's id: the UUID from the wire (tests may use short strings)."""


@dataclass(frozen=True, slots=True)
class StateChange:
    # At the same instant, counters sort before state changes (pieces made before the change).
    order: ClassVar[int] = 1
    ts: datetime
    state: MachineState
    event_id: EventKey
    source: str = ""
    reason_code: str | None = None


@dataclass(frozen=True, slots=True)
class CounterReading:
    order: ClassVar[int] = 0
    ts: datetime
    good: int
    scrap: int
    event_id: EventKey
    source: str = ""


Sample = StateChange | CounterReading


def counter_delta(previous: tuple[int, int] | None, good: int, scrap: int) -> tuple[int, int]:
    """Pieces made since the previous cumulative reading; a drop means the PLC counter was reset.

    After a reset the reading itself is what was made since the reset. The first reading ever seen
    is a baseline (nothing is known about what came before it). Each counter is checked on its own:
    a PLC may reset scrap without good.
    """
    if previous is None:
        return 0, 0
    prev_good, prev_scrap = previous
    d_good = good - prev_good if good >= prev_good else good
    d_scrap = scrap - prev_scrap if scrap >= prev_scrap else scrap
    return d_good, d_scrap


@dataclass(frozen=True, slots=True)
class Carry:
    """What one minute hands to the next: the state at its end and the last counter reading."""

    state: MachineState | None = None
    counters: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class MinuteRow:
    """One row of ``machine_utilization_1m``: the value of that bucket, replacing any earlier one."""

    machine_id: str
    bucket: datetime
    seconds: tuple[float, ...]  # per state, in STATES order
    good: int
    scrap: int
    planned_s: float
    run_planned_s: float
    ideal_s: float
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None
    performance_over_ideal: bool

    def state_s(self, state: MachineState) -> float:
        return self.seconds[_STATE_INDEX[state]]


def oee_figures(
    running_s: float, run_planned_s: float, planned_s: float, ideal_s: float, good: int, scrap: int
) -> tuple[float | None, float | None, float | None, float | None]:
    """(availability, performance, quality, oee) by the definitions of this module's docstring."""
    availability = run_planned_s / planned_s if planned_s > 0 else None
    total = good + scrap
    performance = ideal_s / running_s if running_s > 0 else None
    quality = good / total if total > 0 else None
    oee: float | None
    if availability == 0.0:
        oee = 0.0
    elif availability is None or performance is None or quality is None:
        oee = None
    else:
        oee = availability * performance * quality
    return availability, performance, quality, oee


def _sort_key(sample: Sample) -> tuple[datetime, int, str]:
    return sample.ts, sample.order, str(sample.event_id)


def compute_minute(
    machine_id: str,
    bucket: datetime,
    carry: Carry,
    samples: Iterable[Sample],
    planned: Sequence[Interval],
    ideal_cycle_s: float | None,
) -> tuple[MinuteRow, Carry]:
    """The minute starting at ``bucket`` and the carry for the next one.

    ``samples`` are the minute's events in any order, possibly with duplicates (same event_id).
    ``planned`` are the minute's planned production intervals. Time before the first state a machine
    ever reported is in no state (unknown), and is not run time. A machine the plant model does not
    know has no ideal cycle (``None``): its performance and OEE are NULL.
    """
    end = bucket + BUCKET
    # Duplicates (same event_id) count once; then time order, counters first at the same instant.
    unique = sorted({s.event_id: s for s in samples}.values(), key=_sort_key)

    seconds = [0.0] * len(STATES)
    run_planned = 0.0
    state, since = carry.state, bucket
    counters = carry.counters
    good = scrap = 0

    def close_segment(until: datetime) -> None:
        nonlocal run_planned
        if state is not None and until > since:
            seconds[_STATE_INDEX[state]] += (until - since).total_seconds()
            if state is MachineState.RUNNING:
                run_planned += overlap_s(since, until, planned)

    for sample in unique:
        if isinstance(sample, StateChange):
            close_segment(sample.ts)
            state, since = sample.state, sample.ts
        else:
            d_good, d_scrap = counter_delta(counters, sample.good, sample.scrap)
            good += d_good
            scrap += d_scrap
            counters = (sample.good, sample.scrap)
    close_segment(end)

    planned_s = overlap_s(bucket, end, planned)
    ideal_s = (ideal_cycle_s or 0.0) * (good + scrap)
    running_s = seconds[_STATE_INDEX[MachineState.RUNNING]]
    availability, performance, quality, oee = oee_figures(running_s, run_planned, planned_s, ideal_s, good, scrap)
    if ideal_cycle_s is None:
        performance = None
        oee = 0.0 if availability == 0.0 else None
    row = MinuteRow(
        machine_id=machine_id,
        bucket=bucket,
        seconds=tuple(seconds),
        good=good,
        scrap=scrap,
        planned_s=planned_s,
        run_planned_s=run_planned,
        ideal_s=ideal_s,
        availability=availability,
        performance=performance,
        quality=quality,
        oee=oee,
        performance_over_ideal=performance is not None and performance > 1.0,
    )
    return row, Carry(state, counters)
