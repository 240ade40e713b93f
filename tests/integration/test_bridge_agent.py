"""The real edge chain: an EdgeAgent (SQLite outbox, QoS 1) -> the bridge -> Kafka, births and deaths included."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.agent import EdgeAgent
from edge.bridge.bridge import Bridge
from edge.bridge.config import BridgeConfig
from edge.bridge.testing import Record, forget_session, read_topics
from edge.sim.faults import MalformedKind, malformed_message
from shopfloor.deadletter import DeadLetter
from shopfloor.events import (
    EventBase,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineStateEvent,
    MachineStatePayload,
    NodeKind,
    WoReportedEvent,
    WoReportedPayload,
    event_type,
)
from shopfloor.headers import HEADER_EVENT_ID, HEADER_TYPE
from shopfloor.settings import KafkaSettings, MqttSettings
from shopfloor.topics import KafkaTopic, topic_name

pytestmark = pytest.mark.integration

MACHINES = ["P1", "P2", "P3", "P4"]
EVENTS = 2_000


def test_agent_events_births_deaths_and_faults_through_the_bridge(
    kafka_settings: KafkaSettings, mqtt_settings: MqttSettings, tmp_path: Path
) -> None:
    bridge = Bridge(BridgeConfig(bridge_id=f"agent-{uuid.uuid4().hex[:8]}"), mqtt_settings, kafka_settings)
    bridge.start()
    agent = EdgeAgent("gw-7", NodeKind.PLC_GATEWAY, "pressing", "line2", mqtt_settings, tmp_path / "outbox.db")
    rng = random.Random(7)
    published: list[tuple[str, EventBase]] = []
    faults = list(MalformedKind)
    try:
        agent.start()
        assert agent.wait_connected(30)
        now = datetime.now(UTC)
        batch: list[tuple[EventBase, str]] = []
        for i in range(EVENTS):
            machine = MACHINES[i % len(MACHINES)]
            event: EventBase
            if i % 3 == 0:
                event = agent.new_event(
                    MachineStateEvent, MachineStatePayload(machine_id=machine, state="RUNNING"), now
                )
            elif i % 3 == 1:
                event = agent.new_event(MachineCounterEvent, MachineCounterPayload(machine_id=machine, good=i, scrap=0))
            else:
                report = WoReportedPayload(work_order_id=f"WO-{i % 5}", machine_id=machine, good=1)
                event = agent.new_event(WoReportedEvent, report)
            batch.append((event, machine))
            published.append((machine, event))
        assert agent.publish_many(batch) == EVENTS
        for fault in faults:
            bad = malformed_message(fault, published[0][1], rng, peers=MACHINES)
            agent.publish_raw(bad.cell, bad.mqtt_kind, bad.payload)
        assert agent.flush(60)
    finally:
        agent.close()  # publishes the node's death

    wanted = {str(event.event_id) for _m, event in published}
    dead_topic = topic_name(KafkaTopic.DEADLETTER, kafka_settings.topic_prefix)
    topics = [topic_name(t, kafka_settings.topic_prefix) for t in (KafkaTopic.TELEMETRY, KafkaTopic.MES)]

    def types(records: list[Record]) -> set[bytes]:
        return {r.headers.get(HEADER_TYPE, b"") for r in records}

    def complete(records: list[Record]) -> bool:
        ids = {r.headers.get(HEADER_EVENT_ID, b"").decode() for r in records}
        dead = sum(r.topic == dead_topic for r in records)
        return ids >= wanted and dead >= len(faults) and {b"node.birth", b"node.death"} <= types(records)

    try:
        records = read_topics(kafka_settings, [*topics, dead_topic], complete, timeout=60)
        bridge_state = (
            f"bridge took {bridge.metrics.taken}, finished {bridge.metrics.finished}, produced "
            f"{bridge.metrics.produced}, dead-lettered {bridge.metrics.dead_lettered}"
        )
    finally:
        bridge.stop()
        forget_session(mqtt_settings, bridge.config.client_id)

    events = [r for r in records if r.topic != dead_topic]
    missing = wanted - {r.headers[HEADER_EVENT_ID].decode() for r in events}
    # Where the missing went, so a rare failure says what to look at.
    where = [
        (i, event_type(type(e)), m, any(str(e.event_id).encode() in r.value for r in records))
        for i, (m, e) in enumerate(published)
        if str(e.event_id) in missing
    ]
    assert not missing, f"{len(missing)} not in Kafka (index, type, cell, dead-lettered): {where}; {bridge_state}"
    lifecycle = [r for r in events if r.headers[HEADER_TYPE] in (b"node.birth", b"node.death")]
    assert {r.key for r in lifecycle} == {b"gw-7"}
    assert {r.topic for r in lifecycle} == {topics[0]}
    letters = [DeadLetter.model_validate_json(r.value) for r in records if r.topic == dead_topic]
    assert sorted(d.reason_kind for d in letters) == sorted(
        malformed_message(f, published[0][1], random.Random(0), peers=MACHINES).expected_reason for f in faults
    )
    # Per machine, the agent's seq order survives the trip (no crash here, so no duplicates either).
    for machine in MACHINES:
        seqs = [json.loads(r.value)["seq"] for r in events if r.key == machine.encode()]
        assert seqs == sorted(seqs)
        assert len(seqs) == len(set(seqs)) > 0
