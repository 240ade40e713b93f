"""The running bridge applies the core's boundary checks: with the plant model of the settings, a process
value in the wrong unit for its quantity, an event time beyond the allowed clock skew and a coerced type
are dead-lettered with their reasons, and the valid event beside them arrives."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion

from edge.bridge.bridge import Bridge
from edge.bridge.config import BridgeConfig
from edge.bridge.testing import Record, forget_session, read_topics
from edge.mqtt_login import login
from shopfloor.deadletter import DeadLetter
from shopfloor.headers import HEADER_EVENT_ID
from shopfloor.settings import PROJECT_ROOT, KafkaSettings, MqttSettings
from shopfloor.topics import KafkaTopic, MqttKind, mqtt_topic, topic_name

pytestmark = pytest.mark.integration

DEMO = PROJECT_ROOT / "infra" / "plants" / "demo.yaml"


def process(machine: str, name: str, unit: str, ts: datetime, seq: Any = 1) -> tuple[str, bytes]:
    event_id = str(uuid.uuid4())
    body = {
        "event_id": event_id,
        "source": "gw-heading-1",
        "seq": seq,
        "ts": ts.isoformat(),
        "type": "machine.process",
        "payload": {"machine_id": machine, "values": [{"name": name, "value": 181.5, "unit": unit}]},
    }
    return event_id, json.dumps(body).encode()


def test_the_bridge_dead_letters_wrong_units_future_times_and_coerced_types(
    kafka_settings: KafkaSettings, mqtt_settings: MqttSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPFLOOR_EVENTS_PLANT_FILE", str(DEMO))
    monkeypatch.setenv("SHOPFLOOR_EVENTS_MAX_FUTURE_SKEW_S", "600")
    now = datetime.now(UTC)
    valid_id, valid = process("H2", "forming_force", "kN", now)
    bad = {
        "wrong_unit": process("H2", "forming_force", "degC", now)[1],
        "future_ts": process("H2", "forming_force", "kN", now + timedelta(hours=2))[1],
        "wrong_type": process("H2", "forming_force", "kN", now, seq="7")[1],
    }
    topic = mqtt_topic(mqtt_settings.enterprise, mqtt_settings.site, "heading", "line1", "H2", MqttKind.PROCESS)

    bridge = Bridge(BridgeConfig(bridge_id=f"edge-{uuid.uuid4().hex[:8]}"), mqtt_settings, kafka_settings)
    bridge.start()
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    login(publisher, mqtt_settings)
    publisher.connect(mqtt_settings.host, mqtt_settings.port)
    publisher.loop_start()
    try:
        infos = [publisher.publish(topic, payload, qos=1) for payload in (*bad.values(), valid)]
        for info in infos:
            assert info.rc is MQTTErrorCode.MQTT_ERR_SUCCESS
            info.wait_for_publish(30)
    finally:
        publisher.disconnect()
        publisher.loop_stop()

    telemetry = topic_name(KafkaTopic.TELEMETRY, kafka_settings.topic_prefix)
    dead = topic_name(KafkaTopic.DEADLETTER, kafka_settings.topic_prefix)

    def complete(records: list[Record]) -> bool:
        return sum(r.topic == dead for r in records) >= len(bad) and any(r.topic == telemetry for r in records)

    try:
        records = read_topics(kafka_settings, [telemetry, dead], complete, timeout=60)
    finally:
        assert bridge.stop() == 0
        forget_session(mqtt_settings, bridge.config.client_id)

    assert [r.headers[HEADER_EVENT_ID].decode() for r in records if r.topic == telemetry] == [valid_id]
    letters = {d.reason_kind: d for d in (DeadLetter.model_validate_json(r.value) for r in records if r.topic == dead)}
    assert {kind: letter.original for kind, letter in letters.items()} == bad
    assert "kN" in letters["wrong_unit"].reason and letters["future_ts"].field == "ts"
