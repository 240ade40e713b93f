"""Events produced with the platform producer arrive intact, on their topic and key; failures surface."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
from confluent_kafka import Message

from shopfloor.events import (
    MachineStateEvent,
    MachineStatePayload,
    WoReportedEvent,
    WoReportedPayload,
    new_event_id,
    parse_event,
)
from shopfloor.headers import HEADER_EVENT_ID, header_value
from shopfloor.kafka.consumer import BatchConsumer
from shopfloor.kafka.producer import DeliveryError, flush, make_producer, produce_event
from shopfloor.settings import KafkaSettings
from shopfloor.topics import KafkaTopic, topic_name
from tests.fixtures.stack import unique_name

pytestmark = pytest.mark.integration


def consume(consumer: BatchConsumer, count: int, max_polls: int = 60) -> list[Message]:
    received: list[Message] = []
    for _ in range(max_polls):
        received += consumer.poll_batch(max_messages=count, timeout=1.0)
        if len(received) >= count:
            break
    return received


def test_produced_events_arrive_intact_on_their_topic_and_key(kafka_settings: KafkaSettings) -> None:
    ts = datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=UTC)
    state = MachineStateEvent(
        event_id=new_event_id(),
        source="gw-1",
        seq=7,
        ts=ts,
        payload=MachineStatePayload(machine_id="H2", state="FAULT", reason_code="E42"),
    )
    report = WoReportedEvent(
        event_id=new_event_id(),
        source="scan-3",
        seq=1,
        ts=ts,
        payload=WoReportedPayload(work_order_id="WO-1", operation_seq=2, good=100, scrap=3),
    )
    producer = make_producer(kafka_settings)
    produce_event(producer, state, kafka_settings)
    produce_event(producer, report, kafka_settings)
    flush(producer)

    with BatchConsumer(kafka_settings, unique_name("g"), [KafkaTopic.TELEMETRY, KafkaTopic.MES]) as consumer:
        messages = consume(consumer, 2)
    by_topic = {message.topic(): message for message in messages}
    assert len(messages) == 2
    telemetry = by_topic[topic_name(KafkaTopic.TELEMETRY, kafka_settings.topic_prefix)]
    mes = by_topic[topic_name(KafkaTopic.MES, kafka_settings.topic_prefix)]
    assert parse_event(telemetry.value() or b"") == state
    assert parse_event(mes.value() or b"") == report
    assert telemetry.key() == b"H2"
    assert mes.key() == b"WO-1"
    assert telemetry.headers() == [
        ("type", b"machine.state"),
        ("source", b"gw-1"),
        ("event_id", str(state.event_id).encode()),
    ]
    assert header_value(mes.headers(), HEADER_EVENT_ID) == str(report.event_id)


def test_same_key_keeps_order_within_its_partition(kafka_settings: KafkaSettings) -> None:
    events = [
        MachineStateEvent(
            event_id=new_event_id(),
            source="gw-1",
            seq=seq,
            ts=datetime(2026, 3, 1, 8, 0, seq, tzinfo=UTC),
            payload=MachineStatePayload(machine_id="P7", state="RUNNING" if seq % 2 else "IDLE"),
        )
        for seq in range(50)
    ]
    producer = make_producer(kafka_settings)
    for event in events:
        produce_event(producer, event, kafka_settings)
    flush(producer)

    with BatchConsumer(kafka_settings, unique_name("g"), [KafkaTopic.TELEMETRY]) as consumer:
        messages = consume(consumer, len(events))
    assert [parse_event(message.value() or b"").seq for message in messages] == list(range(50))
    assert len({message.partition() for message in messages}) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_undeliverable_event_raises_instead_of_being_dropped(kafka_settings: KafkaSettings) -> None:
    nowhere = kafka_settings.model_copy(update={"bootstrap_servers": f"127.0.0.1:{_closed_port()}"})
    producer = make_producer(nowhere, **{"message.timeout.ms": 300, "log_level": 0})
    event = MachineStateEvent(
        event_id=new_event_id(),
        source="gw-1",
        seq=1,
        ts=datetime(2026, 3, 1, tzinfo=UTC),
        payload=MachineStatePayload(machine_id="H2", state="RUNNING"),
    )
    produce_event(producer, event, nowhere)
    with pytest.raises(DeliveryError) as raised:
        flush(producer, timeout=10)
    assert raised.value.topic == topic_name(KafkaTopic.TELEMETRY, nowhere.topic_prefix)
    assert raised.value.key == b"H2"


def test_flush_raises_when_messages_are_still_queued_at_its_timeout(kafka_settings: KafkaSettings) -> None:
    nowhere = kafka_settings.model_copy(update={"bootstrap_servers": f"127.0.0.1:{_closed_port()}"})
    producer = make_producer(nowhere, **{"message.timeout.ms": 600_000, "log_level": 0})
    event = MachineStateEvent(
        event_id=new_event_id(),
        source="gw-1",
        seq=1,
        ts=datetime(2026, 3, 1, tzinfo=UTC),
        payload=MachineStatePayload(machine_id="H2", state="IDLE"),
    )
    produce_event(producer, event, nowhere)
    with pytest.raises(DeliveryError, match="1 messages still queued"):
        flush(producer, timeout=0.5)
    producer.purge()
