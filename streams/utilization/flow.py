"""The utilization dataflow: telemetry events -> one-minute buckets per machine -> replacing upserts.

``build_flow(source, sink, clock, calendar=...)`` wires:

    input -> parse (per batch) -> key by machine -> fold_window (event time, 1 min, per-machine
    watermark, ``lateness`` of grace) -> MinuteCloser (carry-over, gap and quiet minutes) -> sink
             \\-> late stream (events past the lateness) -> sink (``late_event``) + metric

The source yields raw event bytes (:class:`streams.utilization.source.TelemetrySource`, a TestingSource),
or messages with a ``value`` and ``headers`` (bytewax's KafkaSourceMessage).
Anything that is not a valid ``machine.state`` / ``machine.counter`` event is skipped and counted:
the raw sink is the one that dead-letters invalid messages, so they are not reported twice.
The sink receives :class:`MinuteRow` and :class:`LateSample` items.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import bytewax.operators as op
import bytewax.operators.windowing as win
from bytewax.dataflow import Dataflow
from bytewax.inputs import Source
from bytewax.operators.windowing import EventClock, TumblingWindower, _EventClockLogic, _EventClockState
from bytewax.outputs import Sink

from shopfloor.events import EventError, MachineCounterEvent, MachineStateEvent, parse_event
from streams.metrics import LATE_EVENTS, SKIPPED_MESSAGES
from streams.utilization.closing import Calendar, ClosedWindow, CloserState, MinuteCloser
from streams.utilization.minutes import BUCKET, EPOCH, Carry, CounterReading, MinuteRow, Sample, StateChange
from streams.utilization.source import TYPE_HEADER, WANTED_TYPES

PROCESSOR = "utilization"
DEFAULT_LATENESS = timedelta(seconds=10)

Keyed = tuple[str, Sample]


@dataclass(frozen=True, slots=True)
class LateSample:
    """An event that came after its minute had closed: for ``late_event`` and the replay tool."""

    machine_id: str
    sample: Sample


def _wanted(item: Any) -> bool:
    """False for a message whose type header names an event this flow does not use (not parsed)."""
    headers = getattr(item, "headers", None)
    if headers:
        for name, value in headers:
            if name == TYPE_HEADER:
                return value in WANTED_TYPES
    return True


def parse_batch(batch: list[Any]) -> list[Keyed]:
    """Machine state and counter events of a batch as (machine id, sample); everything else skipped."""
    out: list[Keyed] = []
    skipped = 0
    for item in batch:
        if isinstance(item, bytes | str):
            raw: bytes | str | None = item
        elif _wanted(item):
            raw = getattr(item, "value", None)
        else:
            continue
        if raw is None:
            skipped += 1
            continue
        try:
            event = parse_event(raw)
        except EventError:
            skipped += 1
            continue
        if isinstance(event, MachineStateEvent):
            p = event.payload
            out.append((p.machine_id, StateChange(event.ts, p.state, event.event_id, event.source, p.reason_code)))
        elif isinstance(event, MachineCounterEvent):
            c = event.payload
            out.append((c.machine_id, CounterReading(event.ts, c.good, c.scrap, event.event_id, event.source)))
    if skipped:
        SKIPPED_MESSAGES.labels(processor=PROCESSOR).inc(skipped)
    return out


def _sample_ts(sample: Sample) -> datetime:
    return sample.ts


def _append(acc: list[Sample], sample: Sample) -> list[Sample]:
    acc.append(sample)
    return acc


def _merge(a: list[Sample], b: list[Sample]) -> list[Sample]:
    return a + b


def _closed(item: tuple[str, tuple[int, list[Sample]]]) -> tuple[str, ClosedWindow]:
    machine_id, (window_id, samples) = item
    return machine_id, (machine_id, window_id, samples)


def _late(item: tuple[str, tuple[int, Sample]]) -> LateSample:
    machine_id, (_window_id, sample) = item
    LATE_EVENTS.labels(processor=PROCESSOR).inc()
    return LateSample(machine_id, sample)


class _WatermarkClockLogic(_EventClockLogic[Sample]):
    """EventClock logic that wakes its window operator when the watermark will reach a close time.

    bytewax's default maps a window's close time (event time) to the same instant of system time. For
    events behind the wall clock (a consumer catching up, a replay) that instant is past, and the
    operator is then only woken by new items: a machine that went quiet would keep its last minutes
    open. The watermark reaches ``t`` at ``system_time_of_max_event + (t - watermark_base)``.
    """

    def to_system_utc(self, timestamp: datetime) -> datetime | None:
        try:
            return self.state.system_time_of_max_event + (timestamp - self.state.watermark_base)
        except OverflowError:
            return None


class WatermarkEventClock(EventClock[Sample]):
    """bytewax 0.21.1's EventClock (pinned) with the wake-up time of :class:`_WatermarkClockLogic`."""

    def build(self, resume_state: _EventClockState | None) -> _EventClockLogic[Sample]:
        if resume_state is None:
            return _WatermarkClockLogic(
                self.now_getter, self.ts_getter, self.to_system_utc, self.wait_for_system_duration
            )
        return _WatermarkClockLogic(
            self.now_getter, self.ts_getter, self.to_system_utc, self.wait_for_system_duration, resume_state
        )


def build_flow(
    source: Source[Any],
    sink: Sink[MinuteRow | LateSample],
    clock: Callable[[], datetime],
    *,
    calendar: Calendar,
    lateness: timedelta = DEFAULT_LATENESS,
    flow_id: str = PROCESSOR,
    initial: Mapping[str, Carry] | None = None,
    since: datetime | None = None,
) -> Dataflow:
    """The utilization dataflow from ``source`` to ``sink``; ``clock`` is the system time (UTC, aware).

    ``lateness`` is how long (system time) the watermark of a machine waits behind its newest event:
    events up to that much out of order still count in their minute; later ones go to the late stream.
    ``initial`` gives machines their state and last counter reading before the input starts (a rebuild
    of a time range: see :func:`streams.utilization.rebuild.carry_before`); without it the time before
    a machine's first state event is in no state and its first counter reading is a baseline.
    ``since`` (a minute start) is where a rebuild's range begins: each machine's minutes from there
    to its first event are written from its ``initial`` carry.
    """
    if since is not None and since != since.replace(second=0, microsecond=0):
        raise ValueError(f"since must be a minute start, got {since.isoformat()}")
    flow = Dataflow(flow_id)
    raw = op.input("input", flow, source)
    keyed = op.flat_map_batch("parse", raw, parse_batch)
    event_clock = WatermarkEventClock(_sample_ts, wait_for_system_duration=lateness, now_getter=clock)
    # ordered=True (the default, kept on purpose): items are played in event-time order once the
    # watermark passes them, so each machine's windows open, and close, in minute order, which the
    # closer's carry-over relies on.
    windows = win.fold_window(
        "minute",
        keyed,
        event_clock,
        TumblingWindower(length=BUCKET, align_to=EPOCH),
        list,
        _append,
        _merge,
        ordered=True,
    )
    closed = op.map("tag_machine", windows.down, _closed)

    def closer(resume: CloserState | None, _calendar: Calendar = calendar) -> MinuteCloser:
        return MinuteCloser(_calendar, clock, resume, initial=initial, since=since)

    minutes = op.stateful("close", closed, closer)
    rows: Any = op.map("rows", minutes, _value)
    late: Any = op.map("late", windows.late, _late)
    op.output("output", op.merge("results", rows, late), sink)
    return flow


def _value(item: tuple[str, MinuteRow]) -> MinuteRow:
    return item[1]
