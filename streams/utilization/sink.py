"""The utilization flow's PostgreSQL sink: one idempotent, replacing write per batch.

A bucket row says "this bucket's value is X": an upsert that REPLACES every column, so a minute written
again (filled while its machine was quiet, recomputed after a resume from a snapshot, rebuilt by a
replay) ends with its newest value and is never added twice. Late events go to ``late_event``, first
write wins. Both in one transaction per batch, committed before bytewax may take its next snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from bytewax.outputs import DynamicSink, StatelessSinkPartition

from shopfloor.db.bulk import BulkTable, write_batch
from shopfloor.db.pool import Connection, connect
from shopfloor.settings import PostgresSettings
from streams.metrics import ROWS_WRITTEN
from streams.utilization.flow import PROCESSOR, LateSample
from streams.utilization.minutes import STATES, CounterReading, MinuteRow, StateChange

_STATE_COLUMNS = tuple(f"{state.value.lower()}_s" for state in STATES)
_VALUE_COLUMNS = (
    *_STATE_COLUMNS,
    "good",
    "scrap",
    "planned_s",
    "run_planned_s",
    "ideal_s",
    "availability",
    "performance",
    "quality",
    "oee",
    "performance_over_ideal",
    "updated_at",
)
MINUTES = BulkTable(
    "machine_utilization_1m",
    ("machine_id", "bucket", *_VALUE_COLUMNS),
    key=("machine_id", "bucket"),
    update=_VALUE_COLUMNS,
)
LATE = BulkTable("late_event", ("event_id", "ts", "type", "source", "key", "processor", "payload"), key=("event_id",))


def minute_row(row: MinuteRow, now: datetime) -> tuple[object, ...]:
    return (
        row.machine_id,
        row.bucket,
        *row.seconds,
        row.good,
        row.scrap,
        row.planned_s,
        row.run_planned_s,
        row.ideal_s,
        row.availability,
        row.performance,
        row.quality,
        row.oee,
        row.performance_over_ideal,
        now,
    )


def late_row(late: LateSample) -> tuple[object, ...]:
    s = late.sample
    payload: dict[str, Any]
    if isinstance(s, StateChange):
        event_type = "machine.state"
        payload = {"machine_id": late.machine_id, "state": s.state.value, "reason_code": s.reason_code}
    else:
        assert isinstance(s, CounterReading)
        event_type = "machine.counter"
        payload = {"machine_id": late.machine_id, "good": s.good, "scrap": s.scrap}
    return (s.event_id, s.ts, event_type, s.source, late.machine_id, PROCESSOR, json.dumps(payload))


def write_results(conn: Connection, items: Iterable[MinuteRow | LateSample]) -> tuple[int, int]:
    """Write a batch of flow results in one transaction; returns (minute rows, late events) written."""
    now = datetime.now(UTC)
    minutes: dict[tuple[str, datetime], MinuteRow] = {}
    lates: dict[object, LateSample] = {}
    for item in items:
        if isinstance(item, MinuteRow):
            # Later in the batch = newer value of that bucket (a key may appear once per statement).
            minutes[(item.machine_id, item.bucket)] = item
        else:
            lates.setdefault(item.sample.event_id, item)
    written_minutes = written_late = 0
    with conn.transaction():
        if minutes:
            written_minutes = write_batch(conn, MINUTES, [minute_row(r, now) for r in minutes.values()])
        if lates:
            written_late = write_batch(conn, LATE, [late_row(x) for x in lates.values()])
    ROWS_WRITTEN.labels(processor=PROCESSOR, table="machine_utilization_1m").inc(written_minutes)
    ROWS_WRITTEN.labels(processor=PROCESSOR, table="late_event").inc(written_late)
    return written_minutes, written_late


class _Partition(StatelessSinkPartition[MinuteRow | LateSample]):
    def __init__(self, settings: PostgresSettings) -> None:
        self._conn = connect(settings)

    def write_batch(self, items: Sequence[MinuteRow | LateSample]) -> None:
        write_results(self._conn, items)

    def close(self) -> None:
        self._conn.close()


class UtilizationSink(DynamicSink[MinuteRow | LateSample]):
    """A connection per worker; each batch one committed transaction."""

    def __init__(self, settings: PostgresSettings) -> None:
        self.settings = settings

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _Partition:
        return _Partition(self.settings)
