"""Rebuild: re-read a time range of the raw topics and recompute what it feeds.

Every record of the plan is parsed with the core contract and written to the raw tables in batches
(idempotent on ``(event_id, ts)``: rows already there are left alone, missing ones come back), with the
machines' current state, by the raw sink's own write (``streams.raw.write_batch``). Each
batch is also handed to the aggregate stages (:class:`AggregateStage`), e.g. the utilization dataflow
driven over the bounded range with a recovery directory of the replay's own; a stage writes replacing
upserts, so a rebuild leaves every bucket it touches equal to what one pass over its events gives.

Records that do not parse are counted and skipped: the bridge already dead-lettered anything malformed,
so only a producer writing to the topic directly could put them there.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shopfloor.db.pool import Connection
from shopfloor.events import EventBase, EventError, parse_event
from streams.raw import write_batch as write_raw_and_state
from streams.replay.reader import Record, ReplayReader, TopicPlan

Progress = Callable[[int], None]


class AggregateStage(Protocol):
    """A recomputation fed the parsed events of each batch, then closed once the range is read."""

    name: str

    def feed(self, events: Sequence[EventBase]) -> None: ...

    def close(self) -> int:
        """Finish the computation and write its results; returns the rows (buckets) written."""
        ...


@dataclass
class RebuildSummary:
    records: int = 0
    events: Counter[str] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)
    raw_rows: int = 0
    current_states: int = 0
    aggregate_rows: dict[str, int] = field(default_factory=dict)
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    wall_s: float = 0.0

    def see(self, event: EventBase) -> None:
        self.events[str(getattr(event, "type"))] += 1  # noqa: B009 - every concrete event has a type
        self.first_ts = event.ts if self.first_ts is None else min(self.first_ts, event.ts)
        self.last_ts = event.ts if self.last_ts is None else max(self.last_ts, event.ts)

    def lines(self) -> list[str]:
        rate = self.records / self.wall_s if self.wall_s > 0 else 0.0
        out = [f"read {self.records} records in {self.wall_s:.1f} s ({rate:,.0f}/s)"]
        if self.first_ts is not None and self.last_ts is not None:
            out.append(f"event time {self.first_ts.isoformat()} .. {self.last_ts.isoformat()}")
        out += [f"  {name:<16} {count:>8}" for name, count in sorted(self.events.items())]
        if self.invalid:
            out.append("skipped, not valid events: " + ", ".join(f"{k}={v}" for k, v in sorted(self.invalid.items())))
        out.append(f"raw rows written (new): {self.raw_rows}")
        out.append(f"machine_current_state rows moved forward: {self.current_states}")
        out += [f"{name} rows written: {rows}" for name, rows in sorted(self.aggregate_rows.items())]
        return out


def parse_records(records: Sequence[Record], summary: RebuildSummary) -> list[EventBase]:
    events: list[EventBase] = []
    for record in records:
        try:
            event = parse_event(record.value)
        except EventError as exc:
            summary.invalid[exc.kind.value] += 1
            continue
        summary.see(event)
        events.append(event)
    return events


def rebuild(
    reader: ReplayReader,
    plans: Sequence[TopicPlan],
    conn: Connection,
    stages: Sequence[AggregateStage] = (),
    *,
    batch_size: int = 5000,
    progress: Progress | None = None,
) -> RebuildSummary:
    """Read every plan to its end, writing raw rows per batch and feeding the stages; then close them."""
    summary = RebuildSummary()
    started = time.monotonic()
    for plan in plans:
        for records in reader.read(plan, batch_size=batch_size):
            summary.records += len(records)
            events = parse_records(records, summary)
            # The raw sink's own write: raw rows and machine_current_state (by event time: a replayed
            # older state never moves a machine's state backwards), one transaction.
            rows, states = write_raw_and_state(conn, events)
            summary.raw_rows += rows
            summary.current_states += states
            # Durable before the stages read the raw tables back (a caller's open transaction included).
            conn.commit()
            for stage in stages:
                stage.feed(events)
            if progress is not None:
                progress(len(records))
    for stage in stages:
        summary.aggregate_rows[stage.name] = stage.close()
    summary.wall_s = time.monotonic() - started
    return summary
