"""The batch consumer commits only when told: uncommitted work is delivered again to the group."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from confluent_kafka import Message

from shopfloor.events import MachineCounterEvent, MachineCounterPayload, new_event_id, parse_event
from shopfloor.kafka.consumer import BatchConsumer
from shopfloor.kafka.producer import flush, make_producer, produce_event
from shopfloor.settings import KafkaSettings
from shopfloor.topics import KafkaTopic
from tests.fixtures.stack import unique_name

pytestmark = pytest.mark.integration

TOPICS = [KafkaTopic.TELEMETRY]


def produce_counters(settings: KafkaSettings, machine_ids: list[str]) -> set[str]:
    """One counter event per machine id (spread over partitions); returns their event ids."""
    producer = make_producer(settings)
    ids: set[str] = set()
    for seq, machine_id in enumerate(machine_ids):
        event = MachineCounterEvent(
            event_id=new_event_id(),
            source="gw-1",
            seq=seq,
            ts=datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
            payload=MachineCounterPayload(machine_id=machine_id, good=seq, scrap=0),
        )
        produce_event(producer, event, settings)
        ids.add(str(event.event_id))
    flush(producer)
    return ids


def event_ids(messages: list[Message]) -> set[str]:
    return {str(parse_event(message.value() or b"").event_id) for message in messages}


def consume(consumer: BatchConsumer, count: int, max_polls: int = 60, max_messages: int = 0) -> list[Message]:
    received: list[Message] = []
    for _ in range(max_polls):
        received += consumer.poll_batch(max_messages=max_messages or count, timeout=1.0)
        if len(received) >= count:
            break
    return received


def test_uncommitted_batch_is_redelivered_and_committed_one_is_not(kafka_settings: KafkaSettings) -> None:
    group = unique_name("g")
    first = produce_counters(kafka_settings, [f"M{i}" for i in range(12)])

    # Processes the batch but never says it is durable, then goes away.
    with BatchConsumer(kafka_settings, group, TOPICS) as consumer:
        assert event_ids(consume(consumer, len(first))) == first

    # The group's next consumer sees the same messages again; this one commits after its "work".
    with BatchConsumer(kafka_settings, group, TOPICS) as consumer:
        batch = consume(consumer, len(first))
        assert event_ids(batch) == first
        consumer.commit(batch)

    # After the commit, only what was produced since is delivered: read until the marker shows up, and
    # nothing from before it may come along.
    marker = produce_counters(kafka_settings, [f"N{i}" for i in range(6)])
    with BatchConsumer(kafka_settings, group, TOPICS) as consumer:
        assert event_ids(consume(consumer, len(marker), max_messages=100)) == marker


_KILLED_CONSUMER = """
import sys
from shopfloor.kafka.consumer import BatchConsumer
from shopfloor.settings import KafkaSettings
from shopfloor.topics import KafkaTopic

group, expected = sys.argv[1], int(sys.argv[2])
consumer = BatchConsumer(KafkaSettings(), group, [KafkaTopic.TELEMETRY], **{"session.timeout.ms": 6000})
seen = 0
for _ in range(120):
    seen += len(consumer.poll_batch(max_messages=expected, timeout=1.0))
    if seen >= expected:
        break
print(f"processed {seen}", flush=True)
while True:  # "durable work" never finishes: killed before it commits
    consumer.poll_batch(timeout=1.0)
"""


def test_consumer_killed_before_commit_leaves_its_batch_to_the_next(kafka_settings: KafkaSettings) -> None:
    group = unique_name("g")
    produced = produce_counters(kafka_settings, [f"K{i}" for i in range(8)])
    env = {
        **os.environ,
        "SHOPFLOOR_KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "SHOPFLOOR_KAFKA_TOPIC_PREFIX": kafka_settings.topic_prefix,
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_CONSUMER, group, str(len(produced))],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == f"processed {len(produced)}"
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -9

    with BatchConsumer(kafka_settings, group, TOPICS) as consumer:
        assert event_ids(consume(consumer, len(produced))) == produced
