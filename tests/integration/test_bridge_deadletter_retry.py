"""Dead-lettering never stalls the bridge: a dead letter Kafka refuses is produced again until Kafka takes it,
and no dead letter is ever produced from inside a delivery callback."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from confluent_kafka import KafkaError
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.bridge.bridge import KAFKA_REASON, Bridge
from edge.bridge.config import BridgeConfig
from edge.bridge.testing import Record, read_topics
from edge.mqtt_login import login
from shopfloor.deadletter import DeadLetter
from shopfloor.events import MachineStateEvent, MachineStatePayload
from shopfloor.kafka.admin import make_admin
from shopfloor.kafka.producer import make_producer
from shopfloor.settings import KafkaSettings, MqttSettings
from shopfloor.topics import KafkaTopic, MqttKind, mqtt_topic, topic_name

pytestmark = pytest.mark.integration


class WatchedProducer:
    """The bridge's real producer, counting produce() calls made by a thread inside poll or flush (that is,
    from a delivery callback; the MQTT thread producing while the poll thread polls does not count)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.serving = threading.local()
        self.produced_in_callback = 0

    def poll(self, timeout: float) -> int:
        self.serving.inside = True
        try:
            return int(self.inner.poll(timeout))
        finally:
            self.serving.inside = False

    def flush(self, timeout: float) -> int:
        self.serving.inside = True
        try:
            return int(self.inner.flush(timeout))
        finally:
            self.serving.inside = False

    def produce(self, *args: Any, **kwargs: Any) -> None:
        if getattr(self.serving, "inside", False):
            self.produced_in_callback += 1
        self.inner.produce(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _max_message_bytes(settings: KafkaSettings, topic: KafkaTopic, limit: int) -> None:
    resource = ConfigResource(
        ResourceType.TOPIC,
        topic_name(topic, settings.topic_prefix),
        incremental_configs=[ConfigEntry("max.message.bytes", str(limit), incremental_operation=AlterConfigOpType.SET)],
    )
    admin = make_admin(settings)  # kept referenced until the futures resolve
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(30)


def _wait_until_refused(settings: KafkaSettings, topic: KafkaTopic, timeout: float = 60.0) -> None:
    """A topic config change reaches the broker asynchronously: probe until it refuses a small record."""
    producer = make_producer(settings, **{"message.timeout.ms": 10_000})
    deadline = time.monotonic() + timeout
    try:
        name = topic_name(topic, settings.topic_prefix)
        while time.monotonic() < deadline:
            errors: list[KafkaError | None] = []
            producer.produce(name, b"x" * 200, on_delivery=lambda e, _m, out=errors: out.append(e))
            producer.flush(15)
            if errors and errors[0] is not None and errors[0].code() == KafkaError.MSG_SIZE_TOO_LARGE:
                return
            time.sleep(0.5)
    finally:
        producer.flush(5)
    raise AssertionError(f"{topic} still takes large records")


def test_refused_dead_letters_are_retried_until_kafka_takes_them(
    kafka_settings: KafkaSettings, mqtt_settings: MqttSettings
) -> None:
    # Kafka refuses every event (telemetry) and every dead letter: both are smaller than a record batch.
    _max_message_bytes(kafka_settings, KafkaTopic.TELEMETRY, 64)
    _max_message_bytes(kafka_settings, KafkaTopic.DEADLETTER, 64)
    _wait_until_refused(kafka_settings, KafkaTopic.TELEMETRY)
    _wait_until_refused(kafka_settings, KafkaTopic.DEADLETTER)
    bridge = Bridge(BridgeConfig(bridge_id=f"dlr-{uuid.uuid4().hex[:8]}"), mqtt_settings, kafka_settings)
    watched = WatchedProducer(bridge._producer)
    bridge._producer = watched  # type: ignore[assignment]
    bridge.start()
    topic = mqtt_topic(mqtt_settings.enterprise, mqtt_settings.site, "heading", "line1", "H1", MqttKind.STATE)
    event = MachineStateEvent(
        event_id=uuid.uuid4(),
        source="gw-1",
        seq=1,
        ts=datetime.now(UTC),
        payload=MachineStatePayload(machine_id="H1", state="RUNNING"),
    )
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    login(publisher, mqtt_settings)
    acked = threading.Semaphore(0)
    publisher.on_publish = lambda *_a: acked.release()
    publisher.connect(mqtt_settings.host, mqtt_settings.port)
    publisher.loop_start()
    dead_topic = topic_name(KafkaTopic.DEADLETTER, kafka_settings.topic_prefix)
    try:
        publisher.publish(topic, event.to_json(), qos=1)
        publisher.publish(topic, b"not json", qos=1)
        assert acked.acquire(timeout=30) and acked.acquire(timeout=30)
        deadline = time.monotonic() + 60
        while bridge.metrics.delivery_failed < 4 and time.monotonic() < deadline:  # each refused twice at least
            time.sleep(0.1)
        assert bridge.metrics.delivery_failed >= 4
        assert bridge.metrics.finished == 0  # nothing acknowledged while Kafka has neither
        _max_message_bytes(kafka_settings, KafkaTopic.DEADLETTER, 1024 * 1024)

        def complete(records: list[Record]) -> bool:
            return len(records) >= 2

        records = read_topics(kafka_settings, [dead_topic], complete, timeout=90)
        deadline = time.monotonic() + 30
        while bridge.metrics.finished < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        assert bridge.stop() == 0
    letters = sorted((DeadLetter.model_validate_json(r.value) for r in records), key=lambda d: d.reason_kind)
    assert [d.original for d in letters] == [b"not json", event.to_json()] or [d.original for d in letters] == [
        event.to_json(),
        b"not json",
    ]
    assert KAFKA_REASON in {d.reason_kind for d in letters}
    assert bridge.metrics.taken == bridge.metrics.finished == 2
    assert watched.produced_in_callback == 0
