"""A QoS 1 subscriber that records every message it receives: for tests and for looking at a line.

With ``persistent=True`` it uses a fixed client id and ``clean_session=False``, so the broker keeps
its subscription and queues messages for it while it is away (or while the broker restarts).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.mqtt_login import login
from shopfloor.events import Event, EventError, parse_event
from shopfloor.settings import MqttSettings


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: bytes
    retain: bool

    def event(self) -> Event:
        return parse_event(self.payload)

    def try_event(self) -> Event | None:
        try:
            return parse_event(self.payload)
        except EventError:
            return None


class MqttCollector:
    def __init__(
        self,
        settings: MqttSettings,
        topic_filter: str,
        *,
        client_id: str = "",
        persistent: bool = False,
    ) -> None:
        if persistent and not client_id:
            raise ValueError("a persistent session needs a fixed client id")
        self.settings = settings
        self.topic_filter = topic_filter
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, clean_session=not persistent
        )
        self._client.reconnect_delay_set(1, 2)
        login(self._client, settings)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *_a: self._subscribed.set()
        self._client.on_message = self._on_message

    def _on_connect(self, client: mqtt.Client, _u: Any, _flags: Any, reason: Any, _p: Any) -> None:
        if not getattr(reason, "is_failure", False):
            client.subscribe(self.topic_filter, qos=1)

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(message.topic, bytes(message.payload), bool(message.retain)))

    def start(self, timeout: float = 10.0) -> MqttCollector:
        self._client.connect(self.settings.host, self.settings.port, keepalive=10)
        self._client.loop_start()
        if not self._subscribed.wait(timeout):
            self.stop()
            raise TimeoutError(f"no SUBACK for {self.topic_filter!r} within {timeout} s")
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._client._reset_sockets()  # close now: unclosed sockets warn at garbage collection

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, condition: Callable[[list[Received]], bool], timeout: float) -> bool:
        """Poll until ``condition(messages so far)`` holds; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if condition(self.snapshot()):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def __enter__(self) -> MqttCollector:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
