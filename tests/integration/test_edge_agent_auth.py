"""The agent against a broker with accounts and the project's ACL: it logs in and stays in its line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from edge.agent import EdgeAgent
from edge.agent.collector import MqttCollector
from shopfloor.events import MachineState, MachineStateEvent, MachineStatePayload, NodeKind
from shopfloor.settings import MqttSettings
from shopfloor.stack.mosquitto import MosquittoServer
from shopfloor.stack.mqtt_accounts import EdgeNodeAccount, mqtt_acl, mqtt_users
from shopfloor.stack.process import free_port
from shopfloor.topics import line_prefix
from tests.fixtures.stack import make_state_dir, running

pytestmark = pytest.mark.integration

NODE = EdgeNodeAccount(
    username="edge-heading-l1",
    password=SecretStr("node-secret"),
    enterprise="acme",
    site="plant1",
    area="heading",
    line="L1",
)


@pytest.fixture
def secured_broker() -> Iterator[MosquittoServer]:
    state_dir = make_state_dir("shopfloor-mqtt-auth-")
    server = MosquittoServer(
        state_dir, free_port(), users=mqtt_users("service", "service-secret", [NODE]), acl=mqtt_acl("service", [NODE])
    )
    with running(server, state_dir, timeout=15):
        yield server


def _settings(server: MosquittoServer, user: str, password: str) -> MqttSettings:
    return MqttSettings(
        host=server.host,
        port=server.port,
        username=user,
        password=SecretStr(password),
        enterprise="acme",
        site="plant1",
    )


def test_agent_logs_in_with_its_node_account_and_publishes_under_its_line(
    secured_broker: MosquittoServer, tmp_path: Path
) -> None:
    service = _settings(secured_broker, "service", "service-secret")
    with MqttCollector(service, "shopfloor/v1/#") as sub:
        refused = EdgeAgent(
            "gw1",
            NodeKind.PLC_GATEWAY,
            "heading",
            "L1",
            _settings(secured_broker, NODE.username, "wrong"),
            tmp_path / "bad.db",
        )
        refused.start()
        assert not refused.wait_connected(2)
        refused.close(flush_timeout=0)

        agent = EdgeAgent(
            "gw1",
            NodeKind.PLC_GATEWAY,
            "heading",
            "L1",
            _settings(secured_broker, NODE.username, "node-secret"),
            tmp_path / "q.db",
        )
        agent.start()
        try:
            assert agent.wait_connected(10)
            event = agent.new_event(MachineStateEvent, MachineStatePayload(machine_id="H1", state=MachineState.SETUP))
            agent.publish(event, "H1")
            assert agent.flush(10)
        finally:
            agent.close()
        prefix = line_prefix("acme", "plant1", "heading", "L1")
        assert sub.wait_for(lambda ms: any(m.topic == f"{prefix}/gw1/death" for m in ms), timeout=10)
        topics = [m.topic for m in sub.snapshot()]
    assert topics == [f"{prefix}/gw1/birth", f"{prefix}/H1/state", f"{prefix}/gw1/death"]
