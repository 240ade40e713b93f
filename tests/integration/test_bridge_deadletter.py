"""Every malformed message the simulator can inject is dead-lettered with its reason; nothing valid is lost."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion

from edge.bridge.bridge import Bridge
from edge.bridge.config import BridgeConfig
from edge.bridge.routing import HEADER_EVENT_ID, MAX_ORIGINAL_BYTES
from edge.bridge.testing import Record, forget_session, read_topics
from edge.mqtt_login import login
from edge.sim.faults import MalformedKind, malformed_message
from shopfloor.deadletter import DeadLetter
from shopfloor.events import (
    EventBase,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineProcessEvent,
    MachineProcessPayload,
    MachineStateEvent,
    MachineStatePayload,
    ProcessValue,
    WoStartedEvent,
    WoStartedPayload,
)
from shopfloor.settings import KafkaSettings, MqttSettings
from shopfloor.stack.mosquitto import MosquittoServer
from shopfloor.topics import KafkaTopic, MqttKind, mqtt_topic, topic_name

pytestmark = pytest.mark.integration

MACHINES = ["H1", "H2", "H3"]
TEN_MB = 10 * 1024 * 1024


def _valid_events(count: int) -> Iterator[tuple[MqttKind, str, EventBase]]:
    """(kind, cell, event): a rotation of state, counter, process and work-order events."""
    now = datetime.now(UTC)
    for seq in range(count):
        machine = MACHINES[seq % len(MACHINES)]
        common = {"event_id": uuid.uuid4(), "source": "gw-1", "seq": seq, "ts": now}
        match seq % 4:
            case 0:
                yield (
                    MqttKind.STATE,
                    machine,
                    MachineStateEvent(**common, payload=MachineStatePayload(machine_id=machine, state="RUNNING")),
                )
            case 1:
                yield (
                    MqttKind.COUNTER,
                    machine,
                    MachineCounterEvent(**common, payload=MachineCounterPayload(machine_id=machine, good=seq, scrap=0)),
                )
            case 2:
                value = ProcessValue(name="force", value=12.5, unit="kN")
                yield (
                    MqttKind.PROCESS,
                    machine,
                    MachineProcessEvent(**common, payload=MachineProcessPayload(machine_id=machine, values=[value])),
                )
            case _:
                yield (
                    MqttKind.WO,
                    machine,
                    WoStartedEvent(**common, payload=WoStartedPayload(work_order_id=f"WO-{seq}", machine_id=machine)),
                )


def _publisher(settings: MqttSettings, reconnect: bool = True) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5, reconnect_on_failure=reconnect
    )
    login(client, settings)
    client.connect(settings.host, settings.port)
    client.loop_start()
    return client


def _close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


@pytest.fixture(params=["shared", "private"])
def broker(request: pytest.FixtureRequest, mqtt_settings: MqttSettings) -> MqttSettings:
    """The shared broker (no max_packet_size: 10 MB is accepted, then kept from the bridge by its own
    Maximum Packet Size) and a private one with the project's config (max_packet_size 1 MB: refused)."""
    if request.param == "shared":
        return mqtt_settings
    server: MosquittoServer = request.getfixturevalue("private_mosquitto")
    return mqtt_settings.model_copy(update={"host": server.host, "port": server.port})


def test_every_malformed_kind_is_dead_lettered_and_valid_events_all_arrive(
    kafka_settings: KafkaSettings, broker: MqttSettings
) -> None:
    mqtt_settings = broker
    rng = random.Random(20260302)
    kinds = list(MalformedKind)
    valid = list(_valid_events(len(kinds) * 3 + 6))
    bridge = Bridge(BridgeConfig(bridge_id=f"dlq-{uuid.uuid4().hex[:8]}"), mqtt_settings, kafka_settings)
    bridge.start()

    def topic(cell: str, kind: MqttKind) -> str:
        return mqtt_topic(mqtt_settings.enterprise, mqtt_settings.site, "heading", "line1", cell, kind)

    expected_dead: list[tuple[str, bytes, str]] = []
    publisher = _publisher(mqtt_settings)
    infos: list[mqtt.MQTTMessageInfo] = []
    try:
        valid_iter = iter(valid)
        for kind in kinds:
            # A valid event before and after every bad one: the pipeline must go on around it.
            for _ in range(2):
                mqtt_kind, cell, event = next(valid_iter)
                infos.append(publisher.publish(topic(cell, mqtt_kind), event.to_json(), qos=1))
            base = valid[0][2] if kind is not MalformedKind.SPOOFED_MACHINE else valid[1][2]
            bad = malformed_message(kind, base, rng, peers=MACHINES)
            bad_topic = topic(bad.cell, bad.mqtt_kind)
            infos.append(publisher.publish(bad_topic, bad.payload, qos=1))
            expected_dead.append((bad_topic, bad.payload[:MAX_ORIGINAL_BYTES], bad.expected_reason))

        # 10 MB: over the bridge's MQTT maximum packet size, so the broker never sends it to the bridge
        # (a broker with a smaller max_packet_size refuses it at publish). Either way the bridge stays up.
        # A broker with max_packet_size below 10 MB disconnects this publisher: it must not retry forever.
        big_publisher = _publisher(mqtt_settings, reconnect=False)
        settled = threading.Event()
        big_publisher.on_publish = lambda *_a: settled.set()
        big_publisher.on_disconnect = lambda *_a: settled.set()
        big_publisher.publish(topic("H1", MqttKind.STATE), b"{" + b" " * TEN_MB + b"}", qos=1)
        assert settled.wait(60)
        _close(big_publisher)

        for mqtt_kind, cell, event in valid_iter:
            infos.append(publisher.publish(topic(cell, mqtt_kind), event.to_json(), qos=1))
        for info in infos:
            assert info.rc is MQTTErrorCode.MQTT_ERR_SUCCESS
            info.wait_for_publish(30)
    finally:
        _close(publisher)

    valid_ids = {str(event.event_id) for _k, _c, event in valid}
    dead_topic = topic_name(KafkaTopic.DEADLETTER, kafka_settings.topic_prefix)
    event_topics = [topic_name(t, kafka_settings.topic_prefix) for t in (KafkaTopic.TELEMETRY, KafkaTopic.MES)]

    def complete(records: list[Record]) -> bool:
        arrived = {r.headers[HEADER_EVENT_ID].decode() for r in records if r.topic != dead_topic}
        return arrived >= valid_ids and sum(r.topic == dead_topic for r in records) >= len(kinds)

    try:
        records = read_topics(kafka_settings, [*event_topics, dead_topic], complete, timeout=60)
    finally:
        assert bridge.stop() == 0
        forget_session(mqtt_settings, bridge.config.client_id)

    arrived = [r.headers[HEADER_EVENT_ID].decode() for r in records if r.topic != dead_topic]
    assert set(arrived) == valid_ids
    assert len(arrived) == len(valid_ids)  # no redelivery without a crash
    letters = [DeadLetter.model_validate_json(r.value) for r in records if r.topic == dead_topic]
    assert sorted((d.source_topic, d.original, d.reason_kind) for d in letters) == sorted(expected_dead)
    assert {d.rejected_by for d in letters} == {bridge.config.bridge_id}
    # The 10 MB message never reached the bridge: it took exactly the valid and the malformed messages.
    assert bridge.metrics.taken == len(valid) + len(kinds)
    assert bridge.metrics.finished == bridge.metrics.taken
