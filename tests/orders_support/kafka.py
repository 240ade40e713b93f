"""Reading what the hub published on ``shopfloor.orders``."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable

from confluent_kafka import Consumer

from shopfloor.settings import KafkaSettings
from shopfloor.topics import KafkaTopic, topic_name


def read_orders_topic(
    kafka: KafkaSettings, done: Callable[[Counter[str]], bool], timeout: float = 120.0
) -> tuple[Counter[str], list[dict[str, object]]]:
    """Every event on the topic until ``done(event_id counts)`` holds (or the timeout): counts, events."""
    consumer = Consumer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": f"orders-test-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic_name(KafkaTopic.ORDERS, kafka.topic_prefix)])
    counts: Counter[str] = Counter()
    events: list[dict[str, object]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not done(counts):
            for message in consumer.consume(500, timeout=0.5):
                if message.error() is None:
                    value = message.value()
                    assert value is not None
                    event = json.loads(value)
                    events.append(event)
                    counts[event["event_id"]] += 1
        # A little longer: a duplicate would come right behind.
        for message in consumer.consume(500, timeout=2.0):
            if message.error() is None and (value := message.value()) is not None:
                event = json.loads(value)
                events.append(event)
                counts[event["event_id"]] += 1
    finally:
        consumer.close()
    return counts, events
