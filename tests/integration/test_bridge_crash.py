"""Nothing lost, order kept per key: 20,000 events through a bridge that is SIGKILLed twice mid-stream."""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion

from edge.bridge.routing import HEADER_EVENT_ID
from edge.bridge.testing import BridgeProcess, Record, read_topics
from shopfloor.events import (
    EventBase,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
    WoReportedEvent,
    WoReportedPayload,
)
from shopfloor.settings import KafkaSettings, MqttSettings
from shopfloor.topics import KafkaTopic, MqttKind, mqtt_topic, topic_name

pytestmark = pytest.mark.integration

EVENTS = 20_000
MACHINES = [f"M{i:02d}" for i in range(24)]
WORK_ORDERS = [f"WO-{i}" for i in range(8)]
KILL_AT = (5_000, 12_000)  # published counts at which the bridge is SIGKILLed
BATCH, PAUSE_S = 100, 0.02  # about 5,000 msg/s: the bridge always has messages in flight when killed


def _events(mqtt_settings: MqttSettings) -> list[tuple[str, str, EventBase]]:
    """(MQTT topic, Kafka key, event) in publish order: states, counters and work-order reports."""
    out: list[tuple[str, str, EventBase]] = []
    now = datetime.now(UTC)
    states = list(MachineState)
    for seq in range(EVENTS):
        machine = MACHINES[seq % len(MACHINES)]
        event: EventBase
        if seq % 5 == 4:
            order = WORK_ORDERS[seq % len(WORK_ORDERS)]
            payload = WoReportedPayload(work_order_id=order, machine_id=machine, good=seq % 7)
            event = WoReportedEvent(event_id=uuid.uuid4(), source="pub", seq=seq, ts=now, payload=payload)
            kind, key = MqttKind.WO, order
        elif seq % 5 in (1, 3):
            counts = MachineCounterPayload(machine_id=machine, good=seq, scrap=seq // 100)
            event = MachineCounterEvent(event_id=uuid.uuid4(), source="pub", seq=seq, ts=now, payload=counts)
            kind, key = MqttKind.COUNTER, machine
        else:
            state = MachineStatePayload(machine_id=machine, state=states[seq % len(states)])
            event = MachineStateEvent(event_id=uuid.uuid4(), source="pub", seq=seq, ts=now, payload=state)
            kind, key = MqttKind.STATE, machine
        topic = mqtt_topic(mqtt_settings.enterprise, mqtt_settings.site, "heading", "line1", machine, kind)
        out.append((topic, key, event))
    return out


class Publisher:
    """A paho QoS 1 publisher in its own thread, paced, counting what it has handed to the broker."""

    def __init__(self, settings: MqttSettings, messages: list[tuple[str, bytes]]) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        self.client.max_inflight_messages_set(100)
        self.client.connect(settings.host, settings.port)
        self.client.loop_start()
        self.messages = messages
        self.published = 0
        self.progress = threading.Condition()
        self.infos: list[mqtt.MQTTMessageInfo] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        stop = threading.Event()
        for start in range(0, len(self.messages), BATCH):
            for topic, payload in self.messages[start : start + BATCH]:
                info = self.client.publish(topic, payload, qos=1)
                assert info.rc is MQTTErrorCode.MQTT_ERR_SUCCESS, info.rc
                self.infos.append(info)
            with self.progress:
                self.published = min(start + BATCH, len(self.messages))
                self.progress.notify_all()
            stop.wait(PAUSE_S)

    def wait_published(self, count: int) -> None:
        with self.progress:
            assert self.progress.wait_for(lambda: self.published >= count, timeout=120)

    def finish(self) -> None:
        self.thread.join()
        for info in self.infos:
            info.wait_for_publish(timeout=60)
            assert info.is_published()
        self.client.disconnect()
        self.client.loop_stop()


def _first_occurrences(records: list[Record]) -> dict[str, list[str]]:
    """Per Kafka key, the event ids in log order with duplicates removed (first occurrence wins)."""
    seen: set[str] = set()
    by_key: dict[str, list[str]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        event_id = record.headers[HEADER_EVENT_ID].decode()
        if event_id not in seen:
            seen.add(event_id)
            by_key[(record.key or b"").decode()].append(event_id)
    return by_key


def test_sigkill_twice_loses_nothing_and_keeps_per_key_order(
    kafka_settings: KafkaSettings, mqtt_settings: MqttSettings, tmp_path: Path
) -> None:
    plan = _events(mqtt_settings)
    expected: dict[str, list[str]] = defaultdict(list)
    for _topic, key, event in plan:
        expected[key].append(str(event.event_id))
    all_ids = {str(event.event_id) for _t, _k, event in plan}

    bridge_id = f"crash-{uuid.uuid4().hex[:8]}"
    with BridgeProcess(mqtt_settings, kafka_settings, tmp_path / "bridge.log", "--bridge-id", bridge_id) as bridge:
        bridge.start()
        publisher = Publisher(mqtt_settings, [(topic, event.to_json()) for topic, _k, event in plan])
        publisher.thread.start()
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
    assert _first_occurrences(records) == expected
    assert deadletters == []
