"""Raw events land in their tables, one row per event (per value for process data), once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shopfloor.db.pool import Connection
from shopfloor.db.raw import write_raw_events
from shopfloor.events import (
    EventBase,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineProcessEvent,
    MachineProcessPayload,
    MachineStateEvent,
    MachineStatePayload,
    NodeDeathEvent,
    NodeDeathPayload,
    ProcessValue,
    WoPausedEvent,
    WoPausedPayload,
    new_event_id,
)

pytestmark = pytest.mark.integration


def batch() -> list[EventBase]:
    ts = datetime.now(UTC).replace(microsecond=0)
    common = {"source": "gw-1", "ts": ts}
    return [
        MachineStateEvent(
            event_id=new_event_id(),
            seq=1,
            payload=MachineStatePayload(machine_id="H2", state="FAULT", reason_code="E7"),
            **common,
        ),
        MachineCounterEvent(
            event_id=new_event_id(), seq=2, payload=MachineCounterPayload(machine_id="H2", good=50, scrap=1), **common
        ),
        MachineProcessEvent(
            event_id=new_event_id(),
            seq=3,
            historical=True,
            payload=MachineProcessPayload(
                machine_id="H2",
                values=[
                    ProcessValue(name="force", value=41.5, unit="kN"),
                    ProcessValue(name="temp", value=61, unit="degC"),
                ],
            ),
            **common,
        ),
        WoPausedEvent(
            event_id=new_event_id(),
            source="scan-1",
            seq=1,
            ts=ts + timedelta(days=1),
            payload=WoPausedPayload(work_order_id="WO-1", operation_seq=2, reason="tooling", note="die worn"),
        ),
        NodeDeathEvent(event_id=new_event_id(), seq=4, payload=NodeDeathPayload(node_id="gw-1"), **common),
    ]


def test_each_event_type_lands_in_its_table_once(db_conn: Connection) -> None:
    events = batch()
    assert write_raw_events(db_conn, events) == 5  # 1 state + 1 counter + 2 process values + 1 mes
    assert write_raw_events(db_conn, events) == 0
    ts = events[0].ts
    assert db_conn.execute("SELECT machine_id, state, reason_code, seq, ts FROM machine_state").fetchall() == [
        ("H2", "FAULT", "E7", 1, ts)
    ]
    assert db_conn.execute("SELECT good, scrap FROM machine_counter").fetchall() == [(50, 1)]
    assert db_conn.execute("SELECT name, value, unit, historical FROM machine_process ORDER BY name").fetchall() == [
        ("force", 41.5, "kN", True),
        ("temp", 61.0, "degC", True),
    ]
    mes = db_conn.execute("SELECT type, work_order_id, operation_seq, reason, note, good FROM mes_event").fetchall()
    assert mes == [("wo.paused", "WO-1", 2, "tooling", "die worn", None)]


def test_duplicates_within_one_batch_are_written_once(db_conn: Connection) -> None:
    events = batch()[:2]
    assert write_raw_events(db_conn, [*events, *events, events[0]]) == 2
