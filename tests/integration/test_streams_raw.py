"""The raw sink on the real Kafka and PostgreSQL: rows once each, current state, dead letters, a group."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Consumer, TopicPartition

from shopfloor.db.pool import connect
from shopfloor.deadletter import DeadLetter
from shopfloor.events import (
    EventBase,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
    WoStartedEvent,
    WoStartedPayload,
    new_event_id,
)
from shopfloor.kafka.producer import flush, make_producer, produce_event
from shopfloor.settings import KafkaSettings, PostgresSettings
from shopfloor.topics import KafkaTopic, topic_name
from streams.raw.sink import RawSink
from streams.settings import StreamsSettings
from tests.fixtures.stack import unique_name

pytestmark = pytest.mark.integration

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)


def state(machine: str, seconds: int, s: MachineState, reason: str | None = None) -> MachineStateEvent:
    return MachineStateEvent(
        event_id=new_event_id(),
        source="gw",
        seq=seconds,
        ts=T0 + timedelta(seconds=seconds),
        payload=MachineStatePayload(machine_id=machine, state=s, reason_code=reason),
    )


def counter(machine: str, seconds: int, good: int) -> MachineCounterEvent:
    return MachineCounterEvent(
        event_id=new_event_id(),
        source="gw",
        seq=seconds,
        ts=T0 + timedelta(seconds=seconds),
        payload=MachineCounterPayload(machine_id=machine, good=good, scrap=0),
    )


def publish(kafka: KafkaSettings, events: Sequence[EventBase], raw: Sequence[bytes] = ()) -> None:
    producer = make_producer(kafka)
    for event in events:
        produce_event(producer, event, kafka)
    for value in raw:
        producer.produce(topic_name(KafkaTopic.TELEMETRY, kafka.topic_prefix), value=value, key=b"H1")
    flush(producer)


def scalar(pg: PostgresSettings, query: str) -> object:
    with connect(pg) as conn:
        row = conn.execute(query).fetchone()
        return row[0] if row else None


def run_sinks(
    pg: PostgresSettings, kafka: KafkaSettings, settings: StreamsSettings, done: Callable[[], bool], sinks: int = 1
) -> list[int]:
    """Run ``sinks`` members of one group until ``done()`` (or 60 s); messages processed by each."""
    stop = threading.Event()
    counts = [0] * sinks
    threads = []
    conns = [connect(pg) for _ in range(sinks)]

    def member(i: int) -> None:
        counts[i] = RawSink(conns[i], kafka, settings).run(stop)

    for i in range(sinks):
        threads.append(threading.Thread(target=member, args=(i,)))
        threads[-1].start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not done():
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(30)
    for conn in conns:
        conn.close()
    return counts


def settings() -> StreamsSettings:
    return StreamsSettings(raw_group_id=unique_name("raw-"))


def test_events_land_once_with_current_state_and_bad_messages_dead_lettered(
    pg_settings: PostgresSettings, kafka_settings: KafkaSettings
) -> None:
    h1 = [state("H1", 0, MachineState.RUNNING), state("H1", 30, MachineState.RUNNING), counter("H1", 40, 10)]
    h1 += [state("H1", 50, MachineState.FAULT, "E7"), state("H1", 20, MachineState.IDLE)]  # last one is old
    wo = WoStartedEvent(
        event_id=new_event_id(),
        source="scan-1",
        seq=1,
        ts=T0,
        payload=WoStartedPayload(work_order_id="WO-1", operation_seq=1, machine_id="H1"),
    )
    events: list[EventBase] = [*h1, state("H2", 5, MachineState.SETUP), wo]
    # Every event twice: a redelivery, as after a crash between the database and the offset commits.
    publish(kafka_settings, [*events, *events], raw=[b"{not json", b'{"type": "machine.state"}'])
    config = settings()

    def done() -> bool:
        return (
            scalar(pg_settings, "SELECT count(*) FROM mes_event") == 1
            and scalar(pg_settings, "SELECT count(*) FROM machine_state") == 5
        )

    processed = run_sinks(pg_settings, kafka_settings, config, done)
    assert sum(processed) == 2 * len(events) + 2
    assert scalar(pg_settings, "SELECT count(*) FROM machine_state") == 5
    assert scalar(pg_settings, "SELECT count(*) FROM machine_counter") == 1
    with connect(pg_settings) as conn:
        rows = conn.execute(
            "SELECT machine_id, state, reason_code, since, last_event_ts FROM machine_current_state ORDER BY 1"
        ).fetchall()
    assert rows == [
        # The IDLE at +20 s came after the FAULT at +50 s: older, so it did not move the state back.
        ("H1", "FAULT", "E7", T0 + timedelta(seconds=50), T0 + timedelta(seconds=50)),
        ("H2", "SETUP", None, T0 + timedelta(seconds=5), T0 + timedelta(seconds=5)),
    ]
    # The group's offsets were committed up to the end of both topics (after the database commit).
    probe = Consumer({"bootstrap.servers": kafka_settings.bootstrap_servers, "group.id": config.raw_group_id})
    for topic in (KafkaTopic.TELEMETRY, KafkaTopic.MES):
        name = topic_name(topic, kafka_settings.topic_prefix)
        parts = [TopicPartition(name, p) for p in range(kafka_settings.partitions)]
        committed = {tp.partition: tp.offset for tp in probe.committed(parts, timeout=10)}
        ends = {p: probe.get_watermark_offsets(TopicPartition(name, p), timeout=10)[1] for p in range(len(parts))}
        assert {p: max(o, 0) for p, o in committed.items()} == ends
    probe.close()
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_settings.bootstrap_servers,
            "group.id": unique_name("dl-"),
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic_name(KafkaTopic.DEADLETTER, kafka_settings.topic_prefix)])
    letters: list[DeadLetter] = []
    deadline = time.monotonic() + 30
    while len(letters) < 2 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            letters.append(DeadLetter.model_validate_json(message.value() or b""))
    consumer.close()
    assert sorted(letter.original for letter in letters) == sorted([b"{not json", b'{"type": "machine.state"}'])
    assert {letter.reason_kind for letter in letters} == {"not_json", "missing_field"}
    assert all(letter.source_topic.endswith("shopfloor.telemetry") for letter in letters)


def test_the_state_keeps_since_across_repeats_and_batches(
    pg_settings: PostgresSettings, kafka_settings: KafkaSettings
) -> None:
    config = settings()
    publish(kafka_settings, [state("H3", 0, MachineState.RUNNING)])
    run_sinks(
        pg_settings, kafka_settings, config, lambda: scalar(pg_settings, "SELECT count(*) FROM machine_state") == 1
    )
    publish(kafka_settings, [state("H3", 60, MachineState.RUNNING)])
    run_sinks(
        pg_settings, kafka_settings, config, lambda: scalar(pg_settings, "SELECT count(*) FROM machine_state") == 2
    )
    assert scalar(pg_settings, "SELECT since FROM machine_current_state") == T0
    assert scalar(pg_settings, "SELECT last_event_ts FROM machine_current_state") == T0 + timedelta(seconds=60)
    # A change and back within one batch: the machine entered RUNNING again at +120 s.
    publish(kafka_settings, [state("H3", 90, MachineState.STOPPED), state("H3", 120, MachineState.RUNNING)])
    run_sinks(
        pg_settings, kafka_settings, config, lambda: scalar(pg_settings, "SELECT count(*) FROM machine_state") == 4
    )
    assert scalar(pg_settings, "SELECT since FROM machine_current_state") == T0 + timedelta(seconds=120)


def test_two_members_of_the_group_share_the_partitions_and_write_each_event_once(
    pg_settings: PostgresSettings, kafka_settings: KafkaSettings
) -> None:
    events = [counter(f"M{i % 12}", i, i) for i in range(3000)]
    publish(kafka_settings, events)
    counts = run_sinks(
        pg_settings,
        kafka_settings,
        settings(),
        lambda: scalar(pg_settings, "SELECT count(*) FROM machine_counter") == 3000,
        sinks=2,
    )
    assert scalar(pg_settings, "SELECT count(DISTINCT event_id) FROM machine_counter") == 3000
    assert sum(counts) >= 3000
