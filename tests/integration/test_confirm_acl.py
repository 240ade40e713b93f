"""The project's ACL on a real broker: a node reads only its own line's delivery confirmations and cannot
write any; the service account (the bridge) writes them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from pydantic import SecretStr

from shopfloor.stack.mosquitto import MosquittoServer
from shopfloor.stack.mqtt_accounts import EdgeNodeAccount, mqtt_acl, mqtt_users
from shopfloor.stack.process import free_port
from shopfloor.topics import confirm_topic
from tests.fixtures.stack import make_state_dir, running

pytestmark = pytest.mark.integration

NODES = [
    EdgeNodeAccount(
        username=f"edge-{line}", password=SecretStr(f"pw-{line}"), enterprise="acme", site="p1", area="a", line=line
    )
    for line in ("L1", "L2")
]


@pytest.fixture
def broker() -> Iterator[MosquittoServer]:
    state_dir = make_state_dir("shopfloor-mqtt-confirm-")
    server = MosquittoServer(
        state_dir, free_port(), users=mqtt_users("service", "service-pw", NODES), acl=mqtt_acl("service", NODES)
    )
    with running(server, state_dir, timeout=15):
        yield server


class Client:
    def __init__(self, server: MosquittoServer, user: str, password: str) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv311)
        self.client.username_pw_set(user, password)
        self.client.on_message = lambda _c, _u, m: self.received.append((m.topic, bytes(m.payload)))
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self.client.connect(server.host, server.port)
        self.client.loop_start()

    def subscribe(self, topic: str) -> None:
        self.subscribed.clear()
        self.client.subscribe(topic, qos=1)
        assert self.subscribed.wait(10)

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_node_reads_only_its_own_confirmations_and_writes_none(broker: MosquittoServer) -> None:
    mine = confirm_topic("acme", "p1", "a", "L1", "gw1")
    theirs = confirm_topic("acme", "p1", "a", "L2", "gw2")
    node = Client(broker, "edge-L1", "pw-L1")
    other = Client(broker, "edge-L2", "pw-L2")
    service = Client(broker, "service", "service-pw")
    try:
        node.subscribe("shopfloor/confirm/v1/#")  # granted, but the broker delivers only what the ACL lets it read
        other.subscribe(mine)
        other.publish(mine, b"forged by another line")  # refused by the ACL: nobody gets it
        node.publish(mine, b"forged by the node itself")
        service.publish(theirs, b"for L2")
        service.publish(mine, b"for L1")
        deadline = time.monotonic() + 10
        while not node.received and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # anything forged would have arrived by now, in order before the service's messages
    finally:
        for client in (node, other, service):
            client.close()
    assert node.received == [(mine, b"for L1")]
    assert other.received == []
