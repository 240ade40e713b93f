"""A broker restart in mid-stream: the bridge reconnects to its session and nothing is lost or reordered."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict

import pytest

from edge.bridge.bridge import Bridge
from edge.bridge.config import BridgeConfig
from edge.bridge.routing import HEADER_EVENT_ID
from edge.bridge.testing import PacedPublisher, Record, event_plan, first_occurrences, read_topics
from shopfloor.settings import KafkaSettings, MqttSettings
from shopfloor.stack.mosquitto import MosquittoServer
from shopfloor.topics import KafkaTopic, topic_name

pytestmark = pytest.mark.integration

MACHINES = [f"M{i}" for i in range(8)]
WORK_ORDERS = ["WO-1", "WO-2", "WO-3"]


def test_broker_restart_mid_stream(
    kafka_settings: KafkaSettings, mqtt_settings: MqttSettings, private_mosquitto: MosquittoServer
) -> None:
    mqtt_private = mqtt_settings.model_copy(update={"host": private_mosquitto.host, "port": private_mosquitto.port})
    plan = event_plan(mqtt_private, 6_000, MACHINES, WORK_ORDERS)
    expected: dict[str, list[str]] = defaultdict(list)
    for planned in plan:
        expected[planned.key].append(planned.event_id)
    bridge = Bridge(BridgeConfig(bridge_id=f"outage-{uuid.uuid4().hex[:8]}"), mqtt_private, kafka_settings)
    bridge.start()
    try:
        publisher = PacedPublisher(mqtt_private, [(p.topic, p.payload) for p in plan], 100, 0.02)
        publisher.start()
        publisher.wait_published(2_000)
        # SIGTERM: mosquitto saves sessions and queued messages, and is back a moment later; the bridge
        # and the publisher reconnect on their own.
        private_mosquitto.stop()
        time.sleep(1.0)
        private_mosquitto.start()
        publisher.finish(timeout=120)
        event_topics = [topic_name(t, kafka_settings.topic_prefix) for t in (KafkaTopic.TELEMETRY, KafkaTopic.MES)]
        wanted = {p.event_id for p in plan}

        def complete(records: list[Record]) -> bool:
            return {r.headers[HEADER_EVENT_ID].decode() for r in records} >= wanted

        records = read_topics(kafka_settings, event_topics, complete, timeout=120)
    finally:
        bridge.stop()

    assert {r.headers[HEADER_EVENT_ID].decode() for r in records} == wanted
    assert first_occurrences(records) == expected
