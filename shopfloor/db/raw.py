"""Raw events into their tables: the row of each event type, written idempotently in batches.

A stream's raw writer is: poll a Kafka batch, parse it, :func:`write_raw_events` (one commit), then
commit the offsets. Redelivered events are skipped by their (event_id, ts) key.
"""

from __future__ import annotations

from collections.abc import Iterable

from shopfloor.db.bulk import BulkTable, write_batch
from shopfloor.db.pool import Connection
from shopfloor.events import (
    EventBase,
    MachineCounterEvent,
    MachineProcessEvent,
    MachineStateEvent,
    WoFinishedEvent,
    WoPausedEvent,
    WoReportedEvent,
    WoResumedEvent,
    WoStartedEvent,
)

_ENVELOPE = ("source", "seq", "historical")

MACHINE_STATE = BulkTable(
    "machine_state", ("event_id", "ts", "machine_id", "state", "reason_code", *_ENVELOPE), key=("event_id", "ts")
)
MACHINE_COUNTER = BulkTable(
    "machine_counter", ("event_id", "ts", "machine_id", "good", "scrap", *_ENVELOPE), key=("event_id", "ts")
)
MACHINE_PROCESS = BulkTable(
    "machine_process",
    ("event_id", "ts", "machine_id", "name", "value", "unit", *_ENVELOPE),
    key=("event_id", "name", "ts"),
)
MES_EVENT = BulkTable(
    "mes_event",
    (
        "event_id",
        "ts",
        "type",
        "work_order_id",
        "operation_seq",
        "machine_id",
        "operator_id",
        "good",
        "scrap",
        "reason",
        "note",
        *_ENVELOPE,
    ),
    key=("event_id", "ts"),
)

Row = tuple[object, ...]
WoEvent = WoStartedEvent | WoReportedEvent | WoPausedEvent | WoResumedEvent | WoFinishedEvent


def mes_event_row(event: WoEvent) -> Row:
    w = event.payload
    return (
        event.event_id,
        event.ts,
        event.type,
        w.work_order_id,
        w.operation_seq,
        w.machine_id,
        w.operator_id,
        getattr(w, "good", None),
        getattr(w, "scrap", None),
        getattr(w, "reason", None),
        getattr(w, "note", None),
        event.source,
        event.seq,
        event.historical,
    )


def raw_rows(event: EventBase) -> tuple[BulkTable, list[Row]] | None:
    """The table and rows of one event; None for events that are not raw telemetry or MES scans."""
    envelope = (event.source, event.seq, event.historical)
    if isinstance(event, MachineStateEvent):
        p = event.payload
        return MACHINE_STATE, [(event.event_id, event.ts, p.machine_id, p.state.value, p.reason_code, *envelope)]
    if isinstance(event, MachineCounterEvent):
        c = event.payload
        return MACHINE_COUNTER, [(event.event_id, event.ts, c.machine_id, c.good, c.scrap, *envelope)]
    if isinstance(event, MachineProcessEvent):
        machine = event.payload.machine_id
        rows: list[Row] = [
            (event.event_id, event.ts, machine, v.name, v.value, v.unit.value, *envelope) for v in event.payload.values
        ]
        return MACHINE_PROCESS, rows
    if isinstance(event, WoEvent):
        return MES_EVENT, [mes_event_row(event)]
    return None


def write_raw_events(conn: Connection, events: Iterable[EventBase]) -> int:
    """Write the raw events of a batch, every table in one transaction; returns the new rows written."""
    by_table: dict[str, tuple[BulkTable, list[Row]]] = {}
    for event in events:
        found = raw_rows(event)
        if found is not None:
            table, rows = found
            by_table.setdefault(table.table, (table, []))[1].extend(rows)
    written = 0
    with conn.transaction():
        # Tables in a fixed order, so concurrent writers lock them in the same order.
        for name in sorted(by_table):
            table, rows = by_table[name]
            written += write_batch(conn, table, rows)
    return written
