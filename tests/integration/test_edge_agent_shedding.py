"""A small outbox bound while the broker is away: process values go first, scans are never lost."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.agent import EdgeAgent, QueueFullError
from edge.agent.collector import MqttCollector
from shopfloor.events import (
    EventBase,
    MachineProcessEvent,
    MachineProcessPayload,
    MachineStateEvent,
    MachineStatePayload,
    NodeKind,
    ProcessValue,
    Unit,
    WoReportedEvent,
    WoReportedPayload,
)
from shopfloor.events.machine import MachineState
from shopfloor.settings import MqttSettings
from shopfloor.stack.mosquitto import MosquittoServer
from shopfloor.topics import line_prefix
from tests.fixtures.stack import unique_name

pytestmark = pytest.mark.integration

BOUND = 60


@pytest.fixture
def offline_line(private_mosquitto: MosquittoServer) -> Iterator[tuple[MqttSettings, MqttCollector]]:
    """Settings for a line whose broker is down, with a persistent subscriber waiting for it."""
    settings = MqttSettings(
        host=private_mosquitto.host,
        port=private_mosquitto.port,
        username=None,
        password=None,
        enterprise=unique_name("ent"),
    )
    prefix = line_prefix(settings.enterprise, settings.site, "heading", "L2")
    sub = MqttCollector(settings, f"{prefix}/#", client_id=unique_name("sub-"), persistent=True).start()
    private_mosquitto.stop()
    try:
        yield settings, sub
    finally:
        sub.stop()


def _process(agent: EdgeAgent, i: int) -> MachineProcessEvent:
    value = ProcessValue(name="oil_temp", value=40.0 + i, unit=Unit.CELSIUS)
    return agent.new_event(MachineProcessEvent, MachineProcessPayload(machine_id="H1", values=[value]))


def _state(agent: EdgeAgent, i: int) -> MachineStateEvent:
    state = MachineState.RUNNING if i % 2 else MachineState.IDLE
    return agent.new_event(MachineStateEvent, MachineStatePayload(machine_id="H1", state=state))


def _scan(agent: EdgeAgent, i: int) -> WoReportedEvent:
    return agent.new_event(WoReportedEvent, WoReportedPayload(work_order_id=f"WO{i}", good=10))


def _deliver(agent: EdgeAgent, broker: MosquittoServer, sub: MqttCollector) -> dict[str, set[uuid.UUID]]:
    """Bring the broker back, drain, close the agent; its graceful death is the last thing it sends."""
    broker.start(timeout=15)
    assert agent.flush(60)
    agent.close()
    assert sub.wait_for(lambda ms: any(m.topic.endswith(f"/{agent.node_id}/death") for m in ms), timeout=60)
    by_kind: dict[str, set[uuid.UUID]] = {"process": set(), "state": set(), "wo": set()}
    for message in sub.snapshot():
        kind = message.topic.rsplit("/", 1)[1]
        if kind in by_kind:
            by_kind[kind].add(message.event().event_id)
    return by_kind


def _ids(events: list[EventBase]) -> set[uuid.UUID]:
    return {event.event_id for event in events}


def test_process_values_are_shed_oldest_first_then_telemetry_keeps_scans(
    offline_line: tuple[MqttSettings, MqttCollector], private_mosquitto: MosquittoServer, tmp_path: Path
) -> None:
    settings, sub = offline_line
    agent = EdgeAgent(
        "gw-shed", NodeKind.PLC_GATEWAY, "heading", "L2", settings, tmp_path / "q.db", queue_max_rows=BOUND
    )
    agent.start()
    try:
        process: list[EventBase] = [_process(agent, i) for i in range(40)]
        states: list[EventBase] = [_state(agent, i) for i in range(20)]
        scans: list[EventBase] = [_scan(agent, i) for i in range(30)]
        for event in process + states + scans:
            agent.publish(event, "H1")
        stats = agent.stats()
        assert (stats.rows, stats.shed) == (BOUND, 30)
        assert stats.rows_by_class == {"process": 10, "telemetry": 20, "scan": 30}

        arrived = _deliver(agent, private_mosquitto, sub)
    finally:
        agent.close()
    assert arrived["process"] == _ids(process[30:])  # the 30 oldest were shed
    assert arrived["state"] == _ids(states)
    assert arrived["wo"] == _ids(scans)


def test_scans_are_never_shed_and_refused_when_only_scans_fill_the_queue(
    offline_line: tuple[MqttSettings, MqttCollector], private_mosquitto: MosquittoServer, tmp_path: Path
) -> None:
    settings, sub = offline_line
    agent = EdgeAgent(
        "scan-shed", NodeKind.SCAN_AGENT, "heading", "L2", settings, tmp_path / "q.db", queue_max_rows=BOUND
    )
    agent.start()
    try:
        for i in range(10):
            agent.publish(_process(agent, i), "H1")
            agent.publish(_state(agent, i), "H1")
        accepted: list[EventBase] = []
        refused = 0
        for i in range(BOUND + 15):
            scan = _scan(agent, i)
            try:
                agent.publish(scan, "H1")
                accepted.append(scan)
            except QueueFullError:
                refused += 1
        assert (len(accepted), refused) == (BOUND, 15)
        agent.publish(_state(agent, 99), "H1")  # no room and nothing cheaper to shed: shed on arrival
        assert agent.stats().shed == 21

        arrived = _deliver(agent, private_mosquitto, sub)
    finally:
        agent.close()
    assert arrived == {"process": set(), "state": set(), "wo": _ids(accepted)}
