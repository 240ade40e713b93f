"""The project's Mosquitto: messages arrive intact, edge nodes are held to their own line, and the
standalone ``MosquittoServer`` can be stopped and started again (as outage tests do)."""

from __future__ import annotations

import os
import queue
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from shopfloor.settings import MqttSettings, StackSettings
from shopfloor.stack.mosquitto import MosquittoServer, mqtt_login_ok
from shopfloor.stack.process import StackError, free_port, wait_until
from shopfloor.stack.stack import StackMosquitto
from shopfloor.topics import MqttKind, line_prefix, mqtt_topic
from tests.fixtures.stack import make_state_dir, unique_name

pytestmark = pytest.mark.integration

SERVICE = ("svc", "svc-secret")
NODE_A = ("edge-a", "a-secret", "cutting", "l1")
NODE_B = ("edge-b", "b-secret", "heading", "l2")
ENTERPRISE, SITE = "acme", "plant1"


def write_nodes(path: Path, nodes: list[tuple[str, str, str, str]]) -> None:
    path.write_text(
        "nodes:\n"
        + "".join(
            f"  - {{username: {user}, password: {pw}, enterprise: {ENTERPRISE}, site: {SITE},"
            f" area: {area}, line: {line}}}\n"
            for user, pw, area, line in nodes
        )
    )


@pytest.fixture(scope="module")
def broker_settings() -> Iterator[StackSettings]:
    state_dir = make_state_dir("shopfloor-mqtttest-")
    write_nodes(state_dir / "nodes.yaml", [NODE_A, NODE_B])
    try:
        yield StackSettings(state_dir=state_dir, mqtt_port=free_port(), mqtt_nodes_file=state_dir / "nodes.yaml")
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def stack_broker(settings: StackSettings) -> StackMosquitto:
    return StackMosquitto(settings, MqttSettings(username=SERVICE[0], password=SERVICE[1]))


@pytest.fixture(scope="module")
def broker(broker_settings: StackSettings) -> Iterator[StackMosquitto]:
    """The stack's broker with a service account and two edge-node accounts from a nodes file."""
    server = stack_broker(broker_settings)
    try:
        server.start(timeout=15)
        yield server
    finally:
        server.stop()


class Client:
    """A paho client on its network thread; received messages land in a queue."""

    def __init__(self, port: int, username: str, password: str) -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.acks: queue.Queue[ReasonCode] = queue.Queue()
        self.subscribed: queue.Queue[bool] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique_name("t-"), protocol=mqtt.MQTTv5)
        self.client.username_pw_set(username, password)
        self.client.on_message = lambda _c, _u, msg: self.messages.put(msg)
        self.client.on_publish = lambda _c, _u, _mid, reason, _p: self.acks.put(reason)
        self.client.on_subscribe = lambda _c, _u, _mid, reasons, _p: self.subscribed.put(True)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)
        assert self.subscribed.get(timeout=10)

    def publish(self, topic: str, payload: bytes) -> ReasonCode:
        """Publish at QoS 1 and return the broker's PUBACK reason."""
        info = self.client.publish(topic, payload, qos=1)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS
        return self.acks.get(timeout=10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def clients(broker: StackMosquitto) -> Iterator[dict[str, Client]]:
    made = {
        "service": Client(broker.port, *SERVICE),
        "a": Client(broker.port, NODE_A[0], NODE_A[1]),
    }
    try:
        yield made
    finally:
        for client in made.values():
            client.close()


def cell_topic(area: str, line: str, kind: MqttKind = MqttKind.STATE) -> str:
    return mqtt_topic(ENTERPRISE, SITE, area, line, unique_name("m"), kind)


def test_a_published_message_arrives_intact(clients: dict[str, Client]) -> None:
    service, node_a = clients["service"], clients["a"]
    service.subscribe(line_prefix(ENTERPRISE, SITE, NODE_A[2], NODE_A[3]) + "/#")
    payload = os.urandom(200_000) + b"\x00\xff{}"
    topic = cell_topic(NODE_A[2], NODE_A[3])
    assert not node_a.publish(topic, payload).is_failure
    message = service.messages.get(timeout=10)
    assert (message.topic, message.payload, message.qos) == (topic, payload, 1)


def test_an_edge_node_publishes_under_its_own_line_but_never_under_another(clients: dict[str, Client]) -> None:
    service, node_a = clients["service"], clients["a"]
    service.subscribe("shopfloor/v1/#")
    foreign = cell_topic(NODE_B[2], NODE_B[3])
    own = cell_topic(NODE_A[2], NODE_A[3])
    assert node_a.publish(foreign, b"forged").is_failure  # MQTT 5 PUBACK: not authorized
    assert not node_a.publish(own, b"genuine").is_failure
    # Messages of one publisher are delivered in order: once "genuine" is here, "forged" never will be.
    first = service.messages.get(timeout=10)
    assert (first.topic, first.payload) == (own, b"genuine")
    assert service.messages.empty()


def test_wrong_or_missing_credentials_are_refused(broker: StackMosquitto) -> None:
    assert mqtt_login_ok(broker.port, *SERVICE)
    assert mqtt_login_ok(broker.port, NODE_A[0], NODE_A[1])
    assert not mqtt_login_ok(broker.port, SERVICE[0], "wrong")
    assert not mqtt_login_ok(broker.port, None, None)


def test_private_mosquitto_keeps_retained_messages_across_a_stop(private_mosquitto: MosquittoServer) -> None:
    port = private_mosquitto.port
    topic = mqtt_topic("ent", SITE, "a", "l", "node", MqttKind.BIRTH)
    publisher = Client(port, "anyone", "x")
    try:
        publisher.client.publish(topic, b"birth", qos=1, retain=True)
        assert not publisher.acks.get(timeout=10).is_failure
    finally:
        publisher.close()

    private_mosquitto.stop()
    assert not private_mosquitto.running
    assert not mqtt_login_ok(port, None, None)

    private_mosquitto.start(timeout=15)
    assert private_mosquitto.running
    reader = Client(port, "anyone", "x")
    try:
        reader.subscribe(topic)
        retained = reader.messages.get(timeout=10)
        assert (retained.payload, retained.retain) == (b"birth", True)
    finally:
        reader.close()

    private_mosquitto.kill()
    assert not private_mosquitto.running and not mqtt_login_ok(port, None, None)


def test_a_broker_that_cannot_bind_fails_with_its_log() -> None:
    state_dir = make_state_dir("shopfloor-mqtttest-")
    # Bound but not listening: the port looks free to a connect probe, yet mosquitto cannot bind it.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        server = MosquittoServer(state_dir, holder.getsockname()[1])
        try:
            with pytest.raises(StackError, match="did not start") as failure:
                server.start(timeout=15)
            assert "Address already in use" in str(failure.value)
            assert not server.running
        finally:
            server.stop()
            shutil.rmtree(state_dir, ignore_errors=True)


def test_up_on_a_running_broker_applies_a_changed_node_list(
    broker: StackMosquitto, broker_settings: StackSettings
) -> None:
    node_c = ("edge-c", "c-secret", "plating", "l1")
    assert not mqtt_login_ok(broker.port, node_c[0], node_c[1])
    pid = broker.pid
    write_nodes(broker_settings.mqtt_nodes_file, [NODE_A, NODE_B, node_c])
    try:
        stack_broker(broker_settings).start(timeout=15)  # what a second `shopfloor stack up` does
        assert broker.pid == pid  # reloaded, not restarted
        assert wait_until(lambda: mqtt_login_ok(broker.port, node_c[0], node_c[1]), 15)
    finally:
        write_nodes(broker_settings.mqtt_nodes_file, [NODE_A, NODE_B])
        stack_broker(broker_settings).start(timeout=15)
    assert wait_until(lambda: not mqtt_login_ok(broker.port, node_c[0], node_c[1]), 15)
