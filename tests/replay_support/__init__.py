"""Helpers of the replay tests: events written to Kafka with chosen record timestamps."""

from __future__ import annotations

import contextlib
import queue
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from shopfloor.events import (
    EventBase,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
    new_event_id,
)
from shopfloor.kafka.producer import flush, make_producer, raise_on_error
from shopfloor.settings import KafkaSettings, MqttSettings
from shopfloor.topics import route_event, topic_name
from streams.replay.ranges import to_millis

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
STATES = [MachineState.RUNNING, MachineState.IDLE, MachineState.FAULT, MachineState.SETUP]


def machine_events(machines: list[str], count: int, start: datetime, step: timedelta) -> list[EventBase]:
    """``count`` events per machine, alternating state and counter, ``step`` apart in event time."""
    events: list[EventBase] = []
    for i in range(count):
        ts = start + i * step
        for machine in machines:
            envelope = {"event_id": new_event_id(), "source": "gw-1", "seq": len(events), "ts": ts}
            if i % 2 == 0:
                payload = MachineStatePayload(machine_id=machine, state=STATES[(i // 2) % len(STATES)])
                events.append(MachineStateEvent.model_validate({**envelope, "payload": payload}))
            else:
                payload_c = MachineCounterPayload(machine_id=machine, good=i * 10, scrap=i)
                events.append(MachineCounterEvent.model_validate({**envelope, "payload": payload_c}))
    return events


def produce_at(settings: KafkaSettings, events: Iterable[EventBase], record_time: datetime | None = None) -> None:
    """Produce events keyed as the bridge does, each with record timestamp ``record_time`` (default: its ts)."""
    producer = make_producer(settings)
    for event in events:
        route = route_event(event)
        producer.produce(
            topic_name(route.topic, settings.topic_prefix),
            value=event.to_json(),
            key=route.key.encode(),
            timestamp=to_millis(record_time or event.ts),
            on_delivery=raise_on_error,
        )
        producer.poll(0)
    flush(producer)


class MqttCollector:
    """A paho subscriber on its network thread collecting (topic, payload) under an enterprise."""

    def __init__(self, settings: MqttSettings) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        subscribed: queue.Queue[bool] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"replay-test-{uuid.uuid4().hex[:8]}")
        if settings.username:
            password = settings.password.get_secret_value() if settings.password else None
            self.client.username_pw_set(settings.username, password)
        self.client.on_message = lambda _c, _u, msg: self.messages.put((msg.topic, bytes(msg.payload)))
        self.client.on_subscribe = lambda _c, _u, _mid, _reasons, _p: subscribed.put(True)
        self.client.connect(settings.host, settings.port)
        self.client.loop_start()
        self.client.subscribe(f"shopfloor/v1/{settings.enterprise}/#", qos=1)
        assert subscribed.get(timeout=10)

    def collect(
        self, expected: int, timeout: float, keep: Callable[[str], bool] = lambda _t: True
    ) -> list[tuple[str, bytes]]:
        """Messages whose topic ``keep`` accepts, until ``expected`` came (then one quiet second for extras)."""
        got: list[tuple[str, bytes]] = []
        deadline = time.monotonic() + timeout
        while len(got) < expected and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                topic, payload = self.messages.get(timeout=0.5)
                if keep(topic):
                    got.append((topic, payload))
        while True:
            try:
                topic, payload = self.messages.get(timeout=1.0)
            except queue.Empty:
                return got
            if keep(topic):
                got.append((topic, payload))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
