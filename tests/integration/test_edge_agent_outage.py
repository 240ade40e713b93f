"""A private Mosquitto stopped for 30 s under load: the outbox holds everything and delivers it after."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest

from edge.agent import EdgeAgent
from edge.agent.collector import MqttCollector
from shopfloor.events import MachineStateEvent, MachineStatePayload, NodeBirthEvent, NodeKind
from shopfloor.events.machine import MachineState
from shopfloor.settings import MqttSettings
from shopfloor.stack.mosquitto import MosquittoServer
from shopfloor.topics import line_prefix
from tests.fixtures.stack import unique_name

pytestmark = pytest.mark.integration

OUTAGE_S = 30.0
STATES = list(MachineState)


class SteadyPublisher(threading.Thread):
    """Publishes a machine.state event every ``interval`` seconds until stopped, recording what it sent."""

    def __init__(self, agent: EdgeAgent, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.agent = agent
        self.interval = interval
        self.sent: list[tuple[uuid.UUID, bool]] = []  # (event id, published while the broker was down)
        self.broker_down = False
        self.halt = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.halt.wait(self.interval):
            payload = MachineStatePayload(machine_id="M7", state=STATES[i % len(STATES)])
            event = self.agent.new_event(MachineStateEvent, payload)
            down = self.broker_down
            self.agent.publish(event, "M7")
            self.sent.append((event.event_id, down))
            i += 1


def test_broker_down_30s_under_load_loses_nothing(private_mosquitto: MosquittoServer, tmp_path: Path) -> None:
    settings = MqttSettings(
        host=private_mosquitto.host,
        port=private_mosquitto.port,
        username=None,
        password=None,
        enterprise=unique_name("ent"),
    )
    prefix = line_prefix(settings.enterprise, settings.site, "press", "L1")
    # A persistent session: the broker keeps it (and what is queued for it) across its own restart.
    sub = MqttCollector(settings, f"{prefix}/#", client_id=unique_name("sub-"), persistent=True).start()
    agent = EdgeAgent("plc-out", NodeKind.PLC_GATEWAY, "press", "L1", settings, tmp_path / "outbox.db")
    publisher = SteadyPublisher(agent)
    try:
        agent.start()
        assert agent.wait_connected(10)
        publisher.start()
        assert sub.wait_for(lambda ms: sum(m.topic.endswith("/state") for m in ms) >= 100, timeout=30)

        private_mosquitto.stop()
        publisher.broker_down = True
        time.sleep(OUTAGE_S)
        queued_in_outage = agent.queued
        published_in_outage = sum(down for _, down in publisher.sent)
        private_mosquitto.start(timeout=15)
        publisher.broker_down = False
        assert agent.wait_connected(30)
        time.sleep(1.0)  # keep publishing a little after the restart
        publisher.halt.set()
        publisher.join(10)

        assert agent.flush(60)
        expected = {event_id for event_id, _ in publisher.sent}
        assert sub.wait_for(lambda ms: expected <= {m.event().event_id for m in ms if m.topic.endswith("/state")}, 60)
        messages = sub.snapshot()
        acked = agent.sent  # read before close
    finally:
        publisher.halt.set()
        agent.close()
        sub.stop()

    assert published_in_outage > 1000  # about 100/s for 30 s
    assert queued_in_outage >= published_in_outage  # held in the outbox, nothing sent meanwhile
    assert acked >= len(expected)

    down_ids = {event_id for event_id, down in publisher.sent if down}
    first_seen: dict[uuid.UUID, int] = {}
    for message in messages:
        if message.topic.endswith("/state"):
            event = message.event()
            first_seen.setdefault(event.event_id, event.seq)
            if event.event_id in down_ids:
                assert event.historical, "an event queued during the outage was not marked historical"
    seqs = list(first_seen.values())
    assert seqs == sorted(seqs)
    births = [m.event() for m in messages if m.topic.endswith("/plc-out/birth")]
    assert len(births) >= 2
    assert isinstance(births[-1], NodeBirthEvent)
    assert births[-1].payload.metrics["connections"] == 2  # the birth of the reconnection
    assert births[-1].payload.metrics["queued"] >= published_in_outage
