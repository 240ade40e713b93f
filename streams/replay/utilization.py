"""Rebuild the utilization minutes a replayed range affects, with the utilization dataflow itself.

After the raw pass (every event of the range is in the raw tables), each machine the range touched has
an affected span: from the minute of its first event in the range to the end of the minute of its first
state change after its last one (until then the range's last state carries on; without a later change,
to the end of its last event's minute). The span's buckets depend only on

- the state and the counter reading the machine had when the span began (its last rows before it), and
- every event of the machine inside the span, whenever it reached Kafka,

so those rows, read back from the raw tables in event-time order machine by machine (nothing is late),
drive :func:`streams.utilization.build_flow` with a recovery directory of the rebuild's own. Only rows
of the span are written, by util's replacing upsert (:func:`streams.utilization.write_results`): the
minutes before it computed from the two context rows alone are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bytewax._bytewax import cli_main
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from bytewax.recovery import RecoveryConfig, init_db_dir

from shopfloor.db.pool import Connection, connect
from shopfloor.events import (
    EventBase,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
)
from shopfloor.plant import Plant
from shopfloor.settings import PostgresSettings
from streams.utilization import LateSample, MinuteRow, PlantCalendar, build_flow, write_results

BUCKET = timedelta(minutes=1)
_EPOCH_INTERVAL = timedelta(seconds=5)


def bucket_of(ts: datetime) -> datetime:
    """The minute of ``ts``, in ``datetime.UTC`` (bytewax wants exactly that tzinfo; psycopg gives its own)."""
    return ts.astimezone(UTC).replace(second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class Span:
    """Buckets ``[first, end)`` of one machine to recompute."""

    machine_id: str
    first: datetime
    end: datetime

    def holds(self, bucket: datetime) -> bool:
        return self.first <= bucket < self.end


@dataclass
class Touched:
    """Event-time extent of each machine's state and counter events in the range."""

    machines: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)

    def see(self, events: Iterable[EventBase]) -> None:
        for event in events:
            if isinstance(event, MachineStateEvent | MachineCounterEvent):
                machine = event.payload.machine_id
                lo, hi = self.machines.get(machine, (event.ts, event.ts))
                self.machines[machine] = (min(lo, event.ts), max(hi, event.ts))


def affected_span(conn: Connection, machine_id: str, first_ts: datetime, last_ts: datetime) -> Span:
    after = conn.execute(
        "SELECT min(ts) FROM machine_state WHERE machine_id = %s AND ts > %s", (machine_id, last_ts)
    ).fetchone()
    next_change = after[0] if after is not None else None
    end = bucket_of(next_change if next_change is not None else last_ts) + BUCKET
    return Span(machine_id, bucket_of(first_ts), end)


def span_events(conn: Connection, span: Span) -> list[bytes]:
    """The context rows before the span and every state / counter row inside it, as event JSON, by time."""
    events: list[EventBase] = []
    state_sql = (
        "SELECT event_id, ts, state, reason_code, source, seq, historical FROM machine_state WHERE machine_id = %s"
    )
    counter_sql = "SELECT event_id, ts, good, scrap, source, seq, historical FROM machine_counter WHERE machine_id = %s"
    window = " AND ts >= %s AND ts < %s"
    before = " AND ts < %s ORDER BY ts DESC LIMIT 1"
    m, first, end = span.machine_id, span.first, span.end
    for row in [*conn.execute(state_sql + before, (m, first)), *conn.execute(state_sql + window, (m, first, end))]:
        event_id, ts, state, reason, source, seq, historical = row
        payload = MachineStatePayload(machine_id=m, state=MachineState(state), reason_code=reason)
        envelope = {"event_id": event_id, "source": source, "seq": seq, "ts": ts, "historical": historical}
        events.append(MachineStateEvent.model_validate({**envelope, "payload": payload}))
    for row in [*conn.execute(counter_sql + before, (m, first)), *conn.execute(counter_sql + window, (m, first, end))]:
        event_id, ts, good, scrap, source, seq, historical = row
        payload_c = MachineCounterPayload(machine_id=m, good=good, scrap=scrap)
        envelope = {"event_id": event_id, "source": source, "seq": seq, "ts": ts, "historical": historical}
        events.append(MachineCounterEvent.model_validate({**envelope, "payload": payload_c}))
    events.sort(key=lambda e: (e.ts, str(e.event_id)))
    return [event.to_json() for event in events]


class _SpansPartition(StatefulSourcePartition[bytes, int]):
    """Machine after machine, each machine's rows in time order; resume state: machines done."""

    def __init__(self, pg: PostgresSettings, spans: list[Span], done: int, batch_size: int) -> None:
        self._conn = connect(pg)
        self._spans = spans
        self._done = done
        self._batch_size = batch_size
        self._pending: Iterator[list[bytes]] = iter(())

    def next_batch(self) -> list[bytes]:
        batch = next(self._pending, None)
        while batch is None:
            if self._done >= len(self._spans):
                raise StopIteration
            rows = span_events(self._conn, self._spans[self._done])
            self._conn.rollback()  # end the read transaction: no snapshot held while the flow runs
            self._done += 1
            self._pending = iter([rows[i : i + self._batch_size] for i in range(0, len(rows), self._batch_size)])
            batch = next(self._pending, None)
        return batch

    def snapshot(self) -> int:
        # A resume re-reads the machine being emitted: its minutes are rewritten with the same values.
        return max(0, self._done - 1)

    def close(self) -> None:
        self._conn.close()


class SpansSource(FixedPartitionedSource[bytes, int]):
    """One partition reading the raw rows of every span from PostgreSQL."""

    def __init__(self, pg: PostgresSettings, spans: list[Span], batch_size: int = 1000) -> None:
        self.pg = pg
        self.spans = spans
        self.batch_size = batch_size

    def list_parts(self) -> list[str]:
        return ["spans"]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _SpansPartition:
        return _SpansPartition(self.pg, self.spans, resume_state or 0, self.batch_size)


@dataclass
class Written:
    minutes: int = 0
    dropped: int = 0


class _SpanSinkPartition(StatelessSinkPartition[MinuteRow | LateSample]):
    def __init__(self, pg: PostgresSettings, spans: dict[str, Span], written: Written) -> None:
        self._conn = connect(pg)
        self._spans = spans
        self._written = written

    def write_batch(self, items: Sequence[MinuteRow | LateSample]) -> None:
        keep: list[MinuteRow | LateSample] = []
        for item in items:
            span = self._spans.get(item.machine_id)
            if isinstance(item, MinuteRow) and span is not None and span.holds(item.bucket):
                keep.append(item)
            else:
                # Minutes before a span (computed from its context rows alone); no late items come
                # from time-ordered input.
                self._written.dropped += 1
        minutes, _late = write_results(self._conn, keep)
        self._written.minutes += minutes

    def close(self) -> None:
        self._conn.close()


class SpanSink(DynamicSink[MinuteRow | LateSample]):
    """util's replacing upsert, restricted to the buckets of the spans."""

    def __init__(self, pg: PostgresSettings, spans: list[Span]) -> None:
        self.pg = pg
        self.spans = {span.machine_id: span for span in spans}
        self.written = Written()

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _SpanSinkPartition:
        return _SpanSinkPartition(self.pg, self.spans, self.written)


class UtilizationStage:
    """The rebuild's utilization stage: learns the range's extent from the raw pass, then runs the flow."""

    name = "machine_utilization_1m"

    def __init__(self, pg: PostgresSettings, plant: Plant, recovery_dir: Path, *, batch_size: int = 1000) -> None:
        self.pg = pg
        self.plant = plant
        self.recovery_dir = recovery_dir
        self.batch_size = batch_size
        self.touched = Touched()
        self.spans: list[Span] = []

    def feed(self, events: Sequence[EventBase]) -> None:
        self.touched.see(events)

    def close(self) -> int:
        if not self.touched.machines:
            return 0
        with connect(self.pg) as conn:
            self.spans = [
                affected_span(conn, machine, lo, hi) for machine, (lo, hi) in sorted(self.touched.machines.items())
            ]
        sink = SpanSink(self.pg, self.spans)
        flow = build_flow(
            SpansSource(self.pg, self.spans, self.batch_size),
            sink,
            _frozen_clock(max(span.end for span in self.spans)),
            calendar=PlantCalendar(self.plant),
            flow_id="utilization-rebuild",
        )
        fresh = not any(self.recovery_dir.glob("part-*.sqlite3"))
        if fresh:
            self.recovery_dir.mkdir(parents=True, exist_ok=True)
            init_db_dir(self.recovery_dir, 1)  # type: ignore[no-untyped-call]
        cli_main(  # type: ignore[no-untyped-call]
            flow,
            workers_per_process=1,
            epoch_interval=_EPOCH_INTERVAL,
            recovery_config=RecoveryConfig(str(self.recovery_dir)),  # type: ignore[no-untyped-call]
        )
        return sink.written.minutes


def _frozen_clock(at: datetime) -> Any:
    """The flow's system time during a rebuild: past every span, so quiet minutes are never waited for."""

    def clock() -> datetime:
        return at

    return clock
