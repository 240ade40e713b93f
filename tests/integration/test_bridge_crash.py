"""Nothing lost, order kept per key: 20,000 events through a bridge that is SIGKILLed twice mid-stream."""

from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from edge.bridge.routing import HEADER_EVENT_ID
from edge.bridge.testing import BridgeProcess, PacedPublisher, Record, event_plan, first_occurrences, read_topics
from shopfloor.settings import KafkaSettings, MqttSettings
from shopfloor.topics import KafkaTopic, topic_name

pytestmark = pytest.mark.integration

EVENTS = 20_000
MACHINES = [f"M{i:02d}" for i in range(24)]
WORK_ORDERS = [f"WO-{i}" for i in range(8)]
KILL_AT = (5_000, 12_000)  # published counts at which the bridge is SIGKILLed
BATCH, PAUSE_S = 100, 0.02  # about 5,000 msg/s: the bridge always has messages in flight when killed


def test_sigkill_twice_loses_nothing_and_keeps_per_key_order(
    kafka_settings: KafkaSettings, mqtt_settings: MqttSettings, tmp_path: Path
) -> None:
    plan = event_plan(mqtt_settings, EVENTS, MACHINES, WORK_ORDERS)
    expected: dict[str, list[str]] = defaultdict(list)
    for planned in plan:
        expected[planned.key].append(planned.event_id)
    all_ids = {planned.event_id for planned in plan}

    bridge_id = f"crash-{uuid.uuid4().hex[:8]}"
    with BridgeProcess(mqtt_settings, kafka_settings, tmp_path / "bridge.log", "--bridge-id", bridge_id) as bridge:
        bridge.start()
        publisher = PacedPublisher(mqtt_settings, [(p.topic, p.payload) for p in plan], BATCH, PAUSE_S)
        publisher.start()
        for count in KILL_AT:
            publisher.wait_published(count)
            bridge.kill()
            bridge.start()  # same bridge id: same persistent session
        publisher.finish()

        topics = [topic_name(t, kafka_settings.topic_prefix) for t in (KafkaTopic.TELEMETRY, KafkaTopic.MES)]

        def all_arrived(records: list[Record]) -> bool:
            return len(records) >= EVENTS and {r.headers[HEADER_EVENT_ID].decode() for r in records} >= all_ids

        records = read_topics(kafka_settings, topics, all_arrived, timeout=180)
        assert bridge.terminate() == 0
        deadletters = read_topics(
            kafka_settings, [topic_name(KafkaTopic.DEADLETTER, kafka_settings.topic_prefix)], lambda r: False, 3
        )

    assert bridge.starts == 3
    assert {r.headers[HEADER_EVENT_ID].decode() for r in records} == all_ids
    assert first_occurrences(records) == expected
    assert deadletters == []
