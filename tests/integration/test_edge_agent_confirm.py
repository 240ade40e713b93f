"""An agent with delivery confirmations against a real broker (no bridge): a PUBACK does not free a row;
unconfirmed rows go again after the timeout, marked historical with the same event_id; a confirmation
(as the bridge sends it, on the node's confirmation topic) deletes exactly the rows it names."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.agent import EdgeAgent
from edge.agent.collector import MqttCollector, Received
from edge.mqtt_login import login
from shopfloor.events import MachineCounterEvent, MachineCounterPayload, NodeKind, parse_event
from shopfloor.settings import MqttSettings
from shopfloor.topics import SeqConfirmation, confirm_topic, line_prefix

pytestmark = pytest.mark.integration


def _events(messages: list[Received]) -> list[tuple[str, int, bool]]:
    out = []
    for m in messages:
        if m.topic.endswith("/counter"):
            event = parse_event(m.payload)
            out.append((str(event.event_id), event.seq, event.historical))
    return out


def _confirm(settings: MqttSettings, topic: str, message: SeqConfirmation) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    login(client, settings)
    done = threading.Event()
    client.on_publish = lambda *_a: done.set()
    client.connect(settings.host, settings.port)
    client.loop_start()
    try:
        client.publish(topic, message.model_dump_json(), qos=1)
        assert done.wait(10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_rows_stay_until_confirmed_and_go_again_as_historical(mqtt_settings: MqttSettings, tmp_path: Path) -> None:
    prefix = line_prefix(mqtt_settings.enterprise, mqtt_settings.site, "press", "L1")
    with MqttCollector(mqtt_settings, f"{prefix}/#") as sub:
        agent = EdgeAgent(
            "gw-c",
            NodeKind.PLC_GATEWAY,
            "press",
            "L1",
            mqtt_settings,
            tmp_path / "q.db",
            confirmed_delivery=True,
            confirm_timeout_s=1.0,
        )
        agent.start()
        try:
            assert agent.wait_connected(10)
            events = [
                agent.new_event(MachineCounterEvent, MachineCounterPayload(machine_id="P1", good=i, scrap=0))
                for i in range(6)
            ]
            agent.publish_many([(event, "P1") for event in events])
            ids = {str(e.event_id) for e in events}
            # Sent, acknowledged by the broker, not confirmed: sent again after the timeout, as historical.
            assert sub.wait_for(lambda ms: {i for i, _s, h in _events(ms) if h} >= ids, timeout=30)
            assert agent.queue.rows == 6
            first = [(i, h) for i, _s, h in _events(sub.snapshot())][:6]
            assert first == [(str(e.event_id), False) for e in events]
            # The bridge confirms seqs 0-2 and 5 of this node (two ranges): exactly those rows go.
            seqs = [e.seq for e in events]
            topic = confirm_topic(mqtt_settings.enterprise, mqtt_settings.site, "press", "L1", "gw-c")
            ranges = [(seqs[0], seqs[2]), (seqs[5], seqs[5])]
            _confirm(mqtt_settings, topic, SeqConfirmation(source="gw-c", ranges=ranges, bridge="test"))
            assert agent.flush(0) is False
            deadline = time.monotonic() + 10
            while agent.queue.rows != 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert [row.seq for row in agent.queue.read_after(0, 10)] == seqs[3:5]
            _confirm(mqtt_settings, topic, SeqConfirmation(source="gw-c", ranges=[(seqs[3], seqs[4])]))
            assert agent.flush(10)
        finally:
            agent.close(flush_timeout=0)
