"""Graceful stop (SIGTERM) and shared subscriptions, against the real Mosquitto and Kafka."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import pytest

from edge.bridge.bridge import Bridge
from edge.bridge.config import BridgeConfig
from edge.bridge.routing import HEADER_EVENT_ID
from edge.bridge.testing import BridgeProcess, PacedPublisher, Record, event_plan, forget_session, read_topics
from shopfloor.settings import KafkaSettings, MqttSettings
from shopfloor.topics import KafkaTopic, topic_name

pytestmark = pytest.mark.integration

MACHINES = [f"M{i}" for i in range(6)]
WORK_ORDERS = ["WO-1", "WO-2"]


def _event_topics(kafka: KafkaSettings) -> list[str]:
    return [topic_name(t, kafka.topic_prefix) for t in (KafkaTopic.TELEMETRY, KafkaTopic.MES)]


def _ids(records: list[Record]) -> list[str]:
    return [r.headers[HEADER_EVENT_ID].decode() for r in records]


def test_sigterm_flushes_and_acks_so_a_restart_duplicates_nothing(
    kafka_settings: KafkaSettings, mqtt_settings: MqttSettings, tmp_path: Path
) -> None:
    plan = event_plan(mqtt_settings, 6_000, MACHINES, WORK_ORDERS)
    wanted = {p.event_id for p in plan}
    with BridgeProcess(
        mqtt_settings, kafka_settings, tmp_path / "bridge.log", "--bridge-id", f"term-{uuid.uuid4().hex[:8]}"
    ) as bridge:
        bridge.start()
        publisher = PacedPublisher(mqtt_settings, [(p.topic, p.payload) for p in plan], 100, 0.02)
        publisher.start()
        publisher.wait_published(2_000)
        # Graceful: what was produced is flushed and acknowledged; what arrives meanwhile stays with
        # the broker. So the next session gets each message exactly once.
        assert bridge.terminate() == 0
        bridge.start()
        publisher.finish()
        records = read_topics(kafka_settings, _event_topics(kafka_settings), lambda r: set(_ids(r)) >= wanted, 120)
        assert bridge.terminate() == 0

    ids = _ids(records)
    assert set(ids) == wanted
    assert [event_id for event_id, n in Counter(ids).items() if n > 1] == []


def test_two_bridges_in_a_share_group_split_the_load_without_loss(
    kafka_settings: KafkaSettings, mqtt_settings: MqttSettings
) -> None:
    group = f"g{uuid.uuid4().hex[:8]}"
    bridges = [
        Bridge(BridgeConfig(bridge_id=f"share-{i}-{group}", share_group=group), mqtt_settings, kafka_settings)
        for i in range(2)
    ]
    for bridge in bridges:
        bridge.start()
    plan = event_plan(mqtt_settings, 2_000, MACHINES, WORK_ORDERS)
    wanted = {p.event_id for p in plan}
    try:
        publisher = PacedPublisher(mqtt_settings, [(p.topic, p.payload) for p in plan], 200, 0.01)
        publisher.start()
        publisher.finish()
        records = read_topics(kafka_settings, _event_topics(kafka_settings), lambda r: set(_ids(r)) >= wanted, 60)
    finally:
        undelivered = [bridge.stop() for bridge in bridges]
        for bridge in bridges:
            forget_session(mqtt_settings, bridge.config.client_id)
    assert undelivered == [0, 0]
    assert sorted(_ids(records)) == sorted(wanted)  # each message to exactly one member of the group
    taken = [bridge.metrics.taken for bridge in bridges]
    assert sum(taken) == len(plan)
    assert min(taken) > 0  # mosquitto spreads a share group's messages over its members
