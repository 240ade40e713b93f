"""Raw events land in their tables, one row per event (per value for process data), once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Message

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
    parse_event,
)
from shopfloor.kafka.consumer import BatchConsumer
from shopfloor.kafka.producer import flush, make_producer, produce_event
from shopfloor.settings import KafkaSettings
from shopfloor.topics import KafkaTopic
from tests.fixtures.stack import unique_name

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


def test_kafka_batch_written_then_committed_is_the_writer_loop(
    db_conn: Connection, kafka_settings: KafkaSettings
) -> None:
    """The pattern every raw writer follows: poll, parse, one DB commit, then the offsets."""
    events = batch()
    producer = make_producer(kafka_settings)
    for event in events:
        produce_event(producer, event, kafka_settings)
    flush(producer)

    group = unique_name("g")
    topics = [KafkaTopic.TELEMETRY, KafkaTopic.MES]
    with BatchConsumer(kafka_settings, group, topics) as consumer:
        messages: list[Message] = []
        for _ in range(60):
            messages += consumer.poll_batch(max_messages=100, timeout=1.0)
            if len(messages) >= len(events):
                break
        assert write_raw_events(db_conn, [parse_event(m.value() or b"") for m in messages]) == 5
        consumer.commit(messages)
    assert db_conn.execute("SELECT count(*) FROM mes_event").fetchone() == (1,)
