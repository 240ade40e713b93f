"""``shopfloor sim`` against a real Mosquitto: what the event log says was sent is what a subscriber gets."""

from __future__ import annotations

import base64
import json
import os
import queue
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.sim.eventlog import LogRecord, read_event_log
from edge.sim.faults import TOPIC_REASON
from shopfloor.events import EventError, parse_event
from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT, MqttSettings
from shopfloor.topics import MqttKind, TopicError, parse_mqtt_topic, route
from tests.fixtures.stack import unique_name

pytestmark = pytest.mark.integration

DEMO = PROJECT_ROOT / "infra" / "plants" / "demo.yaml"


class Subscriber:
    """A paho client on its network thread collecting (topic, payload) of everything under the enterprise."""

    def __init__(self, settings: MqttSettings) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        subscribed: queue.Queue[bool] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique_name("simtest-"))
        if settings.username:
            password = settings.password.get_secret_value() if settings.password else None
            self.client.username_pw_set(settings.username, password)
        self.client.on_message = lambda _c, _u, msg: self.messages.put((msg.topic, msg.payload))
        self.client.on_subscribe = lambda _c, _u, _mid, _reasons, _p: subscribed.put(True)
        self.client.connect(settings.host, settings.port)
        self.client.loop_start()
        self.client.subscribe(f"shopfloor/v1/{settings.enterprise}/#", qos=1)
        assert subscribed.get(timeout=10)

    def collect(self, expected: int, timeout: float) -> list[tuple[str, bytes]]:
        got: list[tuple[str, bytes]] = []
        deadline = time.monotonic() + timeout
        while len(got) < expected and time.monotonic() < deadline:
            try:
                got.append(self.messages.get(timeout=0.5))
            except queue.Empty:
                continue
        # Anything beyond what was expected (an unexpected extra) shows up too.
        while True:
            try:
                got.append(self.messages.get(timeout=1.0))
            except queue.Empty:
                return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def subscriber(mqtt_settings: MqttSettings) -> Iterator[Subscriber]:
    client = Subscriber(mqtt_settings)
    try:
        yield client
    finally:
        client.close()


def run_sim(settings: MqttSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SHOPFLOOR_MQTT_HOST": settings.host,
        "SHOPFLOOR_MQTT_PORT": str(settings.port),
        "SHOPFLOOR_MQTT_ENTERPRISE": settings.enterprise,
        "SHOPFLOOR_MQTT_SITE": settings.site,
    }
    if settings.username:
        env["SHOPFLOOR_MQTT_USERNAME"] = settings.username
    if settings.password:
        env["SHOPFLOOR_MQTT_PASSWORD"] = settings.password.get_secret_value()
    command = [sys.executable, "-c", "from shopfloor.cli import main; main()", "sim", "--plant", str(DEMO), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)


def _expected_key(record: LogRecord) -> tuple[str, str]:
    return record.topic, record.event_id or record.payload_b64 or ""


def test_sim_events_arrive_on_their_topics_as_the_event_log_says(
    mqtt_settings: MqttSettings, subscriber: Subscriber, tmp_path: Path
) -> None:
    log_path = tmp_path / "events.jsonl"
    result = run_sim(
        mqtt_settings,
        *("--speed", "1200", "--duration", "40m", "--seed", "3", "--start", "2026-11-23T04:30:00+00:00"),
        *("--faults", "dup=0.02,malformed=0.02", "--break", "H2@5m:20m", "--event-log", str(log_path)),
    )
    assert result.returncode == 0, result.stderr
    assert "not acknowledged" not in result.stdout, result.stdout
    records = list(read_event_log(log_path))
    assert len(records) > 500
    received = subscriber.collect(len(records) + 2 * 12, timeout=60)

    lifecycle = [(t, p) for t, p in received if parse_mqtt_topic(t).kind in (MqttKind.BIRTH, MqttKind.DEATH)]
    data = [(t, p) for t, p in received if parse_mqtt_topic(t).kind not in (MqttKind.BIRTH, MqttKind.DEATH)]
    plant = load_plant(DEMO)
    lines = sum(len(ws.lines) for ws in plant.workshops)
    assert {parse_mqtt_topic(t).cell for t, _ in lifecycle} == {
        f"sim-{line.id}" for ws in plant.workshops for line in ws.lines
    }
    assert len(lifecycle) >= 2 * lines

    # Malformed messages are matched by their exact bytes (some parse: wrong topic, spoofed machine),
    # valid events by event id (a replay after a reconnect marks them historical).
    malformed = {(r.topic, r.payload_b64) for r in records if r.payload_b64}
    arrived: Counter[tuple[str, str]] = Counter()
    for topic, payload in data:
        raw = base64.b64encode(payload).decode()
        if (topic, raw) in malformed:
            arrived[(topic, raw)] += 1
            continue
        try:
            arrived[(topic, str(parse_event(payload).event_id))] += 1
        except EventError:
            arrived[(topic, raw)] += 1
    expected = Counter(_expected_key(r) for r in records)
    assert arrived == expected

    # Valid events sit under their machine's workshop and line, and route; bad ones fail as logged.
    for record in records:
        address = parse_mqtt_topic(record.topic)
        if record.event is not None:
            event = parse_event(json.dumps(record.event))
            location = plant.location(address.cell)
            assert (address.area, address.line) == (location.workshop_id, location.line_id)
            assert route(record.topic, event).key
        else:
            try:
                route(record.topic, parse_event(record.payload))
            except EventError as exc:
                assert exc.kind.value == record.expected_reason
            except TopicError:
                assert record.expected_reason == TOPIC_REASON
            else:
                pytest.fail(f"malformed {record.fault} passed")
    states = [r.event["payload"] for r in records if r.event is not None and r.event_type == "machine.state"]
    h2_states = [payload["state"] for payload in states if payload["machine_id"] == "H2"]
    assert "FAULT" in h2_states
    assert "machine.counter" in result.stdout and "malformed:" in result.stdout
