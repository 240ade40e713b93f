"""Helpers for tests and benchmarks: run a bridge as a real process, and read Kafka topics back.

Kept in the package (not in tests/) because the benchmark and other concerns' end-to-end tests use them too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import paho.mqtt.client as mqtt
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.mqtt_login import login
from shopfloor.events import (
    EventBase,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
    WoReportedEvent,
    WoReportedPayload,
)
from shopfloor.settings import KafkaSettings, MqttSettings
from shopfloor.topics import MqttKind, mqtt_topic

READY_LINE = "subscribed to"


def settings_env(mqtt: MqttSettings, kafka: KafkaSettings) -> dict[str, str]:
    """The environment that makes a child process read these settings."""
    env = dict(os.environ)
    for prefix, settings in (("SHOPFLOOR_MQTT_", mqtt), ("SHOPFLOOR_KAFKA_", kafka)):
        for name, value in settings.model_dump(mode="json").items():
            if value is not None:
                env[prefix + name.upper()] = str(value)
    if mqtt.password is not None:
        env["SHOPFLOOR_MQTT_PASSWORD"] = mqtt.password.get_secret_value()
    return env


def forget_session(mqtt_settings: MqttSettings, client_id: str) -> None:
    """Make the broker drop a persistent session (and what it queued): connect clean, expire at once."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5)
    connected = threading.Event()
    client.on_connect = lambda *_args: connected.set()
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 0
    login(client, mqtt_settings)
    client.connect(mqtt_settings.host, mqtt_settings.port, clean_start=True, properties=props)
    client.loop_start()
    try:
        connected.wait(10)
    finally:
        client.disconnect()
        client.loop_stop()


class BridgeProcess:
    """``shopfloor bridge run`` in a child process, its log in a file (read to know it is subscribed)."""

    def __init__(self, mqtt: MqttSettings, kafka: KafkaSettings, log_path: Path, *args: str) -> None:
        self.env = settings_env(mqtt, kafka)
        self.mqtt = mqtt
        self.bridge_id = args[args.index("--bridge-id") + 1] if "--bridge-id" in args else None
        self.log_path = log_path
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 60.0) -> None:
        """Start (or restart) the bridge and wait until this incarnation has subscribed."""
        exe = Path(sys.executable).with_name("shopfloor")
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(exe), "bridge", "run", *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                if READY_LINE.encode() in log.read():
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"bridge did not subscribe; log:\n{self.log_path.read_text(errors='replace')[-4000:]}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no flush, no ack, no disconnect; what a power cut does."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM: the graceful stop; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def __enter__(self) -> BridgeProcess:
        return self

    def __exit__(self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None) -> None:
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait()
        if self.bridge_id is not None:
            forget_session(self.mqtt, f"shopfloor-bridge-{self.bridge_id}")


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    topic: str
    key: str
    event_id: str
    payload: bytes


def event_plan(
    mqtt_settings: MqttSettings, count: int, machines: Sequence[str], work_orders: Sequence[str]
) -> list[PlannedEvent]:
    """Valid events in publish order on one line's topics: 2/5 states, 2/5 counters, 1/5 work-order reports."""
    out: list[PlannedEvent] = []
    now = datetime.now(UTC)
    states = list(MachineState)
    for seq in range(count):
        machine = machines[seq % len(machines)]
        event: EventBase
        if seq % 5 == 4:
            order = work_orders[seq % len(work_orders)]
            report = WoReportedPayload(work_order_id=order, machine_id=machine, good=seq % 7)
            event = WoReportedEvent(event_id=uuid.uuid4(), source="pub", seq=seq, ts=now, payload=report)
            kind, key = MqttKind.WO, order
        elif seq % 5 in (1, 3):
            counts = MachineCounterPayload(machine_id=machine, good=seq, scrap=seq // 100)
            event = MachineCounterEvent(event_id=uuid.uuid4(), source="pub", seq=seq, ts=now, payload=counts)
            kind, key = MqttKind.COUNTER, machine
        else:
            state = MachineStatePayload(machine_id=machine, state=states[seq % len(states)])
            event = MachineStateEvent(event_id=uuid.uuid4(), source="pub", seq=seq, ts=now, payload=state)
            kind, key = MqttKind.STATE, machine
        topic = mqtt_topic(mqtt_settings.enterprise, mqtt_settings.site, "heading", "line1", machine, kind)
        out.append(PlannedEvent(topic, key, str(event.event_id), event.to_json()))
    return out


class PacedPublisher:
    """A paho QoS 1 publisher in its own thread: ``batch`` messages, then a pause, counting progress."""

    def __init__(self, settings: MqttSettings, messages: list[tuple[str, bytes]], batch: int, pause_s: float) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        self.client.max_inflight_messages_set(100)
        login(self.client, settings)
        # PUBACKs are counted here rather than through MQTTMessageInfo.wait_for_publish(), which raises
        # for a message published while the broker was away (rc NO_CONN) although paho keeps that
        # message and sends it after reconnecting.
        self.acknowledged = 0
        self.client.on_publish = self._on_publish
        self.client.connect(settings.host, settings.port)
        self.client.loop_start()
        self.messages = messages
        self.batch = batch
        self.pause_s = pause_s
        self.published = 0
        self.progress = threading.Condition()
        self.infos: list[mqtt.MQTTMessageInfo] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _on_publish(self, *_args: object) -> None:
        with self.progress:
            self.acknowledged += 1
            self.progress.notify_all()

    def _run(self) -> None:
        try:
            self._publish_all()
        except BaseException as exc:  # reported by finish()
            self.error = exc

    def _publish_all(self) -> None:
        pause = threading.Event()
        for start in range(0, len(self.messages), self.batch):
            for topic, payload in self.messages[start : start + self.batch]:
                info = self.client.publish(topic, payload, qos=1)
                while info.rc is MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
                    pause.wait(0.01)  # 65,535 messages unacknowledged: packet ids run out, wait for acks
                    info = self.client.publish(topic, payload, qos=1)
                # NO_CONN: the broker is away; paho keeps the message and sends it after reconnecting.
                if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                    raise RuntimeError(f"publish refused: {info.rc}")
                self.infos.append(info)
            with self.progress:
                self.published = min(start + self.batch, len(self.messages))
                self.progress.notify_all()
            pause.wait(self.pause_s)

    def wait_published(self, count: int, timeout: float = 120.0) -> None:
        with self.progress:
            if not self.progress.wait_for(lambda: self.published >= count, timeout=timeout):
                raise TimeoutError(f"only {self.published} of {count} published")

    def finish(self, timeout: float = 60.0) -> None:
        """Wait until every message is acknowledged by the broker, then disconnect."""
        self.thread.join()
        try:
            if self.error is not None:
                raise RuntimeError("publisher failed") from self.error
            with self.progress:
                if not self.progress.wait_for(lambda: self.acknowledged >= len(self.infos), timeout=timeout):
                    raise TimeoutError(f"only {self.acknowledged} of {len(self.infos)} acknowledged by the broker")
        finally:
            self.client.disconnect()
            self.client.loop_stop()


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]
    timestamp_ms: int  # CreateTime, or LogAppendTime on a topic configured so


def read_topics(
    kafka: KafkaSettings,
    topics: Iterable[str],
    done: Callable[[list[Record]], bool],
    timeout: float = 60.0,
) -> list[Record]:
    """Read the topics from the beginning until ``done(records)`` or ``timeout``; records in partition order.

    Partitions are assigned explicitly (``kafka.partitions`` each), not through a consumer group: no
    rebalance to wait for, and no partition missed because a just-created topic's metadata was partial
    when the group formed.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": f"bridge-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    records: list[Record] = []
    try:
        consumer.assign(
            [
                TopicPartition(topic, partition, OFFSET_BEGINNING)
                for topic in topics
                for partition in range(kafka.partitions)
            ]
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done(records):
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise RuntimeError(f"Kafka read failed: {error}")
                records.append(
                    Record(
                        message.topic() or "",
                        message.partition() or 0,
                        message.offset() or 0,
                        message.key(),
                        message.value() or b"",
                        _headers(message),
                        message.timestamp()[1],
                    )
                )
    finally:
        consumer.close()
    return records


class EndOffsets:
    """How many records a topic holds (sum of high watermarks), counted without reading them.

    One consumer serves every count: a benchmark polling every 50 ms would otherwise connect a new client
    20 times a second, load that falls on Kafka and the bridge it measures.
    """

    def __init__(self, kafka: KafkaSettings, topic: str, partitions: int) -> None:
        group = f"count-{uuid.uuid4().hex}"  # never joined: watermarks need no group, the client wants one
        self._consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": group})
        self._partitions = [TopicPartition(topic, p) for p in range(partitions)]

    def __call__(self) -> int:
        return sum(self._consumer.get_watermark_offsets(tp, timeout=10, cached=False)[1] for tp in self._partitions)

    def close(self) -> None:
        self._consumer.close()


def _headers(message: Message) -> dict[str, bytes]:
    raw = message.headers() or []
    items = raw.items() if isinstance(raw, dict) else raw
    return {name: value.encode() if isinstance(value, str) else (value or b"") for name, value in items}


def first_occurrences(records: Iterable[Record]) -> dict[str, list[str]]:
    """Per Kafka key, the event ids in log order with repeats removed (the first occurrence wins)."""
    seen: set[str] = set()
    by_key: dict[str, list[str]] = {}
    for record in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        event_id = record.headers["event_id"].decode()
        if event_id not in seen:
            seen.add(event_id)
            by_key.setdefault((record.key or b"").decode(), []).append(event_id)
    return by_key
