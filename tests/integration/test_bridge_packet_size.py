"""Under MQTT 5 whatever the broker accepts reaches the bridge: a message over 64 KiB but within the broker's
max_packet_size is dead-lettered as oversized, with its reason, instead of vanishing after its PUBACK."""

from __future__ import annotations

import threading
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.bridge.bridge import Bridge
from edge.bridge.config import BridgeConfig
from edge.bridge.routing import MAX_ORIGINAL_BYTES
from edge.bridge.testing import Record, read_topics
from shopfloor.deadletter import DeadLetter
from shopfloor.events import ErrorKind
from shopfloor.settings import KafkaSettings, MqttSettings
from shopfloor.stack.mosquitto import MAX_PACKET_SIZE, MosquittoServer
from shopfloor.topics import KafkaTopic, MqttKind, mqtt_topic, topic_name

pytestmark = pytest.mark.integration


def test_a_message_the_broker_accepts_reaches_the_bridge_and_is_dead_lettered(
    kafka_settings: KafkaSettings, mqtt_settings: MqttSettings, private_mosquitto: MosquittoServer
) -> None:
    settings = mqtt_settings.model_copy(update={"host": private_mosquitto.host, "port": private_mosquitto.port})
    bridge = Bridge(BridgeConfig(bridge_id=f"size-{uuid.uuid4().hex[:8]}"), settings, kafka_settings)
    bridge.start()
    topic = mqtt_topic(settings.enterprise, settings.site, "heading", "line1", "H1", MqttKind.STATE)
    # Over the old announced 256 KiB, under the broker's 1 MiB: the broker accepts and acknowledges it.
    payload = b'{"debug": "' + b"x" * (MAX_PACKET_SIZE // 2) + b'"}'
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    acked = threading.Event()
    publisher.on_publish = lambda _c, _u, _mid, reason, _p: acked.set() if not reason.is_failure else None
    publisher.connect(settings.host, settings.port)
    publisher.loop_start()
    dead_topic = topic_name(KafkaTopic.DEADLETTER, kafka_settings.topic_prefix)
    try:
        publisher.publish(topic, payload, qos=1)
        assert acked.wait(30), "the broker did not acknowledge the message"

        def complete(records: list[Record]) -> bool:
            return len(records) >= 1

        records = read_topics(kafka_settings, [dead_topic], complete, timeout=30)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        assert bridge.stop() == 0
    [letter] = [DeadLetter.model_validate_json(r.value) for r in records]
    assert letter.source_topic == topic
    assert letter.reason_kind == ErrorKind.OVERSIZED.value
    assert letter.original == payload[:MAX_ORIGINAL_BYTES]
    assert "truncated" in letter.reason
    assert bridge.metrics.taken == bridge.metrics.finished == 1
