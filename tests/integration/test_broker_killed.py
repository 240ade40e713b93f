"""Nothing acknowledged is lost when Mosquitto dies: the broker SIGKILLed mid-stream (its state not saved,
autosave every 30 s) while agents publish under load and the bridge's session is away; every event id
reaches Kafka, because agents keep each event until the bridge confirms Kafka has it."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest

from edge.agent import EdgeAgent
from edge.bridge.bridge import Bridge
from edge.bridge.config import BridgeConfig
from edge.bridge.routing import HEADER_EVENT_ID
from edge.bridge.testing import Record, read_topics
from shopfloor.events import MachineCounterEvent, MachineCounterPayload, NodeKind
from shopfloor.settings import KafkaSettings, MqttSettings
from shopfloor.stack.mosquitto import MosquittoServer
from shopfloor.topics import KafkaTopic, topic_name

pytestmark = pytest.mark.integration

AGENTS = 2
PER_AGENT = 3000


def _publish(agent: EdgeAgent, machine: str, count: int, ids: list[str], kill_at: threading.Event) -> None:
    for start in range(0, count, 100):
        events = [
            agent.new_event(MachineCounterEvent, MachineCounterPayload(machine_id=machine, good=i, scrap=0))
            for i in range(start, start + 100)
        ]
        agent.publish_many([(event, machine) for event in events])
        ids.extend(str(event.event_id) for event in events)
        if start >= count // 2:
            kill_at.set()
        time.sleep(0.01)


@pytest.mark.parametrize("bridge_away", [True, False], ids=["bridge-session-away", "bridge-present"])
def test_broker_sigkilled_mid_stream_loses_no_event(
    kafka_settings: KafkaSettings,
    mqtt_settings: MqttSettings,
    private_mosquitto: MosquittoServer,
    tmp_path: Path,
    bridge_away: bool,
) -> None:
    settings = mqtt_settings.model_copy(update={"host": private_mosquitto.host, "port": private_mosquitto.port})
    config = BridgeConfig(bridge_id=f"kill-{uuid.uuid4().hex[:8]}")
    bridge = Bridge(config, settings, kafka_settings)
    bridge.start()  # creates the persistent session (and its subscription)
    if bridge_away:
        assert bridge.stop() == 0  # away: the broker queues for its session (in memory until the autosave)
    agents = [
        EdgeAgent(
            f"gw{n}", NodeKind.SIMULATOR, "heading", f"L{n}", settings, tmp_path / f"gw{n}.db", confirmed_delivery=True
        )
        for n in range(AGENTS)
    ]
    ids: list[list[str]] = [[] for _ in agents]
    kill_at = threading.Event()
    try:
        for agent in agents:
            agent.start()
            assert agent.wait_connected(15)
        publishers = [
            threading.Thread(target=_publish, args=(agent, f"M{n}", PER_AGENT, ids[n], kill_at))
            for n, agent in enumerate(agents)
        ]
        for thread in publishers:
            thread.start()
        assert kill_at.wait(60)
        acknowledged = sum(agent.queue.stats().rows for agent in agents)
        private_mosquitto.kill()  # SIGKILL: what the broker held in memory is gone
        time.sleep(1.0)
        private_mosquitto.start(timeout=15)
        for thread in publishers:
            thread.join(120)
        if bridge_away:
            bridge = Bridge(config, settings, kafka_settings)
            bridge.start()
        assert acknowledged > 0
        # Every event confirmed: the outboxes drain only through the bridge's confirmations.
        for agent in agents:
            assert agent.flush(120), f"{agent.node_id}: {agent.queue.rows} rows never confirmed"
        expected = {event_id for agent_ids in ids for event_id in agent_ids}
        assert len(expected) == AGENTS * PER_AGENT
        telemetry = topic_name(KafkaTopic.TELEMETRY, kafka_settings.topic_prefix)

        def complete(records: list[Record]) -> bool:
            return {r.headers[HEADER_EVENT_ID].decode() for r in records if HEADER_EVENT_ID in r.headers} >= expected

        records = read_topics(kafka_settings, [telemetry], complete, timeout=60)
        arrived = {r.headers[HEADER_EVENT_ID].decode() for r in records if HEADER_EVENT_ID in r.headers}
        assert expected - arrived == set()
    finally:
        for agent in agents:
            agent.close(flush_timeout=1.0)
        bridge.stop()
