"""The bridge: MQTT QoS 1 in, Kafka out, and the MQTT acknowledgement only once Kafka has the message.

Threads, and who does what:
- paho's network thread runs :meth:`Bridge._on_publish` for each message (cut straight from the read
  buffer, see ``frames.py``): parse, route, ``produce()`` (non-blocking), and every millisecond serves
  whatever Kafka delivery reports are ready (``poll(0)``).
- our poll thread serves delivery reports only while the network thread is idle (see ``_serve``).
- each QoS 1 message takes its place in the PUBACK order when read; delivery callbacks mark it done;
  after each poll :class:`~edge.bridge.acks.AckBatcher` queues the PUBACKs that may go (in receive order,
  MQTT-4.6.0-2) on paho's outgoing queue as one write. Queuing never waits on the network thread, so nothing
  deadlocks; acks of an earlier connection are dropped (see ``acks.py``).

Nothing is lost: a message is acknowledged only after Kafka (acks=all, idempotent) confirmed it or its
dead letter. A crash leaves the rest unacknowledged in the broker's persistent session, which re-sends
them, in order, to the restarted bridge. Per partition, the idempotent producer keeps produce order.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import paho.mqtt.client as mqtt
from confluent_kafka import KafkaError, Message
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.bridge.acks import AckBatcher, AckSlot
from edge.bridge.config import BridgeConfig, packet_size_mismatch
from edge.bridge.confirm import Confirmer, confirm_tag, rejected_tag
from edge.bridge.frames import Publish
from edge.bridge.metrics import BridgeMetrics
from edge.bridge.readahead import ReadAheadClient
from edge.bridge.routing import Forward, Headers, Reject, dead_letter, dead_letter_headers, decide
from edge.mqtt_login import login
from shopfloor.events.boundary import EventValidator
from shopfloor.kafka.producer import make_producer
from shopfloor.settings import EventSettings, KafkaSettings, MqttSettings
from shopfloor.topics import KafkaTopic, topic_name

log = logging.getLogger(__name__)

# Kafka refused an event for good (too large for the topic, not authorised...): it is dead-lettered.
KAFKA_REASON = "kafka"
# A dead letter Kafka refused is produced again after this back-off (doubling up to the maximum).
RETRY_MIN_S = 0.5
RETRY_MAX_S = 30.0
# At stop, the broker counts as done sending after this long without a message.
QUIET_S = 0.25
# The poll thread takes over serving Kafka delivery reports after the MQTT thread was idle this long.
SERVE_IDLE_S = 0.005
# While busy, the MQTT thread serves delivery reports at most this often (each time all that are ready).
SERVE_EVERY_S = 0.001


def producer_overrides(kafka: KafkaSettings, config: BridgeConfig) -> dict[str, Any]:
    """The bridge's changes to the project's producer defaults (idempotent, acks=all, lz4)."""
    return {
        "client.id": f"{kafka.client_id}-bridge-{config.bridge_id}",
        "linger.ms": config.linger_ms,
        # Never give up on a message while Kafka is away: it stays unacknowledged in MQTT meanwhile,
        # and the broker's receive window (receive_maximum) stops the flow instead of dropping.
        "message.timeout.ms": 0,
        # The bridge's own bound on what it holds: Mosquitto 2.0 releases up to a whole receive window
        # for a single PUBACK once messages queue for us (db__message_delete_outgoing), so after a Kafka
        # outage the broker's window alone would not stop the flow. A full local queue does (BufferError
        # in _produce stops the MQTT thread); twice the window leaves room for dead letters.
        "queue.buffering.max.messages": 2 * config.receive_maximum,
    }


class Bridge:
    def __init__(
        self,
        config: BridgeConfig,
        mqtt_settings: MqttSettings,
        kafka_settings: KafkaSettings,
        metrics: BridgeMetrics | None = None,
    ) -> None:
        self.config = config
        self.mqtt_settings = mqtt_settings
        self.metrics = metrics if metrics is not None else BridgeMetrics(config.bridge_id)
        self.subscription = config.subscription(mqtt_settings.enterprise, mqtt_settings.site)
        self.ready = threading.Event()  # set once subscribed
        self.failed = threading.Event()  # set on a fatal producer error: exit and let a restart recover
        self._topics = {topic: topic_name(topic, kafka_settings.topic_prefix) for topic in KafkaTopic}
        self._deadletter_topic = self._topics[KafkaTopic.DEADLETTER]
        overrides = {**producer_overrides(kafka_settings, config), "error_cb": self._on_kafka_error}
        self._producer = make_producer(kafka_settings, **overrides)
        self._parse = EventValidator.from_settings(EventSettings()).parse  # future_ts, units per plant
        self._closing = False
        self._last_seen = 0.0  # while closing: when the broker last sent us something
        self._intake = threading.Lock()  # held while a message is handled; uncontended except at stop
        self._stop_polling = threading.Event()
        # Whoever holds it serves Kafka delivery reports (reentrant: _produce serves while the queue is full).
        self._serving = threading.RLock()
        self._last_taken = 0.0  # monotonic time the MQTT thread last handled a message
        self._last_served = 0.0  # ... and last served delivery reports
        # Dead letters to produce once the current poll returns: never produce() inside a delivery
        # callback (confluent-kafka's maintainers warn against it: a reported segfault). Each entry is
        # (not before, monotonic; attempt, slot, received, mqtt topic, payload, reject).
        self._pending_dead: deque[_DeadLetterWork] = deque()
        self._poller = threading.Thread(target=self._poll_loop, name=f"bridge-{config.bridge_id}-poll", daemon=True)
        self._client = self._make_client()
        self._acks = AckBatcher(self._client)
        self._confirmer = Confirmer(self._client, config.bridge_id)

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> None:
        """Connect, subscribe, and return once the subscription is granted."""
        self._poller.start()
        settings = self.mqtt_settings
        if self.config.mqtt_protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self.config.session_expiry_s
            props.ReceiveMaximum = self.config.receive_maximum
            props.MaximumPacketSize = self.config.max_packet_bytes
            self._client.connect(
                settings.host, settings.port, settings.keepalive_s, clean_start=False, properties=props
            )
        else:
            self._client.connect(settings.host, settings.port, settings.keepalive_s)
        self._client.loop_start()
        if not self.ready.wait(timeout):
            self.stop(timeout=1.0)
            raise TimeoutError(f"bridge {self.config.bridge_id} not subscribed within {timeout} s")

    def stop(self, timeout: float = 10.0) -> int:
        """Graceful stop: take no more messages, flush Kafka, ack what it delivered, disconnect.

        Returns how many produced messages were still undelivered (0 on a clean stop); those, and any
        message that arrived meanwhile, stay unacknowledged and come back to the next session.
        """
        with self._intake:  # a message being handled now finishes its produce() first
            self._closing = True
            self._last_seen = time.monotonic()
        self._stop_polling.set()
        if self._poller.is_alive():
            self._poller.join()
        # Delivery callbacks now run here, in flush; they queue PUBACKs ahead of the DISCONNECT below.
        deadline = time.monotonic() + timeout
        undelivered = self._producer.flush(timeout)
        while self._pending_dead and time.monotonic() < deadline:  # dead letters the flush's callbacks asked for
            self._produce_pending_dead()
            undelivered = self._producer.flush(max(0.0, min(0.1, deadline - time.monotonic())))
            if self._pending_dead:
                time.sleep(0.05)  # a retry waiting out its back-off
        undelivered += len(self._pending_dead)
        self._confirmer.add(self._acks.send())
        self._confirmer.publish_due(force=True)
        self._wait_quiet(deadline=time.monotonic() + timeout)
        self._client.disconnect()
        self._client.loop_stop()
        self._producer.close()
        self.metrics.up = False
        if undelivered:
            log.warning("bridge %s stopped with %d messages undelivered", self.config.bridge_id, undelivered)
        return undelivered

    def _wait_quiet(self, deadline: float) -> None:
        """Wait until the PUBACKs are written and the broker has stopped sending.

        Every ack opens the broker's window, and it sends more (ignored now: they return next session).
        Closing a TCP socket with unread data makes the kernel send a reset, and a reset makes the broker
        drop what it had not yet read, our last PUBACKs and DISCONNECT included: the acknowledged messages
        would come back as duplicates. Once the window is full of ignored messages the broker goes quiet.
        """
        while time.monotonic() < deadline:
            if not self._client.want_write() and time.monotonic() - self._last_seen >= QUIET_S:
                return
            time.sleep(QUIET_S / 5)

    # -- MQTT side (network thread) -------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        v5 = self.config.mqtt_protocol == "5"
        client = ReadAheadClient(
            CallbackAPIVersion.VERSION2,
            client_id=self.config.client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        login(client, self.mqtt_settings)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_socket_open = _no_delay
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.set_publish_handler(self._on_publish)
        return client

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        if reason.is_failure:
            log.error("bridge %s: MQTT connect refused: %s", self.config.bridge_id, reason)
            return
        if self.config.mqtt_protocol == "5" and (problem := packet_size_mismatch(self.config, props)):
            log.error("bridge %s: %s", self.config.bridge_id, problem)
        self._acks.new_connection()
        log.info("bridge %s connected (session present: %s)", self.config.bridge_id, flags.session_present)
        if flags.session_present:
            # The subscription lives in the session; the SUBACK may queue behind the broker's backlog.
            self._subscribed()
        # retainHandling=1: retained births only on a new subscription, not on every restart.
        if self.config.mqtt_protocol == "5":
            client.subscribe(self.subscription, options=SubscribeOptions(qos=1, retainHandling=1))
        else:
            client.subscribe(self.subscription, qos=1)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: list[ReasonCode], _p: Any) -> None:
        if any(reason.is_failure for reason in reasons):
            log.error("bridge %s: subscription to %s refused: %s", self.config.bridge_id, self.subscription, reasons)
            return
        self._subscribed()

    def _subscribed(self) -> None:
        if not self.ready.is_set():
            log.info("bridge %s subscribed to %s", self.config.bridge_id, self.subscription)
        self.metrics.up = True
        self.ready.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        self._acks.new_connection()
        self.metrics.up = False
        if not self._closing:
            log.warning("bridge %s disconnected (%s); reconnecting", self.config.bridge_id, reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        # The few messages paho reads itself (the first of each network read, QoS 2 never granted).
        self._on_publish(Publish(msg.topic, bytes(msg.payload), msg.mid, msg.qos, 0))

    def _on_publish(self, msg: Publish) -> None:
        with self._intake:
            if self._closing:
                self._last_seen = time.monotonic()
                return  # left unacknowledged: the broker re-sends it to the next session
            self._take(msg)

    def _take(self, msg: Publish) -> None:
        received = time.perf_counter()
        self.metrics.taken += 1
        topic, payload = msg.topic, msg.payload
        decision = decide(topic, payload, self._parse)
        if isinstance(decision, Forward):
            tag = confirm_tag(topic, decision.source, decision.seq)
        else:
            tag = rejected_tag(topic, payload)
        slot = self._acks.received(msg.mid, msg.qos, tag)  # its place in the PUBACK order (MQTT-4.6.0-2)
        if isinstance(decision, Forward):
            kafka_topic = self._topics[decision.topic]
            delivered = partial(self._on_delivered, slot, received, decision.event_ts, kafka_topic, topic, payload)
            self._produce(kafka_topic, payload, decision.key, decision.headers, delivered)
        else:
            self._dead_letter(slot, received, topic, payload, decision)
        now = self._last_taken = time.monotonic()
        if now - self._last_served >= SERVE_EVERY_S:
            self._last_served = now
            self._serve_if_free()

    def _dead_letter(self, slot: AckSlot | None, received: float, topic: str, payload: bytes, reject: Reject) -> None:
        work = _DeadLetterWork(slot, received, topic, payload, reject)
        record = dead_letter(topic, payload, reject, self.config.bridge_id, datetime.now(UTC))
        delivered = partial(self._on_dead_lettered, work)
        self._produce(self._deadletter_topic, record.to_json(), topic, dead_letter_headers(topic, reject), delivered)

    def _produce(self, topic: str, value: bytes, key: str, headers: Headers, callback: Any) -> None:
        while True:
            try:
                self._producer.produce(topic, value, key, on_delivery=callback, headers=headers)
                return
            except BufferError:
                # Local queue full (Kafka slow or away): serve delivery reports here, which also stops
                # reading MQTT; the broker holds the rest meanwhile.
                with self._serving:
                    self._serve(SERVE_IDLE_S)

    # -- Kafka side ----------------------------------------------------------------------------------
    # Delivery reports are served by whichever thread holds _serving. confluent-kafka takes the GIL for
    # every delivery callback; from a second thread that means a GIL hand-over per message (three futex
    # calls each, more CPU than the bridge's own work). So while messages flow, the MQTT thread serves
    # them itself after each produce (the GIL is already its own), and the poll thread only serves when
    # the MQTT thread has been idle for SERVE_IDLE_S (then nobody competes for the GIL).

    def _serve(self, timeout: float) -> None:
        if self._producer.poll(timeout):
            self._confirmer.add(self._acks.send())
        self._confirmer.publish_due()
        if self._pending_dead:
            self._produce_pending_dead()

    def _produce_pending_dead(self) -> None:
        """Produce the dead letters delivery callbacks asked for (outside any callback; in order)."""
        now = time.monotonic()
        for _ in range(len(self._pending_dead)):
            work = self._pending_dead.popleft()
            if work.not_before > now:
                self._pending_dead.append(work)  # a retry whose back-off has not passed yet
                continue
            record = dead_letter(work.topic, work.payload, work.reject, self.config.bridge_id, datetime.now(UTC))
            delivered = partial(self._on_dead_lettered, work)
            headers = dead_letter_headers(work.topic, work.reject)
            try:
                self._producer.produce(
                    self._deadletter_topic, record.to_json(), work.topic, on_delivery=delivered, headers=headers
                )
            except BufferError:
                self._pending_dead.appendleft(work)  # local queue full: the next serve tries again
                return

    def _serve_if_free(self) -> None:
        if self._serving.acquire(blocking=False):
            try:
                self._serve(0)
            finally:
                self._serving.release()

    def _poll_loop(self) -> None:
        while not self._stop_polling.is_set():
            if time.monotonic() - self._last_taken < SERVE_IDLE_S:
                time.sleep(SERVE_IDLE_S)  # the MQTT thread is busy and serves deliveries itself
                continue
            with self._serving:
                self._serve(SERVE_IDLE_S)

    def _on_delivered(
        self,
        slot: AckSlot | None,
        received: float,
        event_ts: float | None,
        kafka_topic: str,
        mqtt_topic: str,
        payload: bytes,
        err: KafkaError | None,
        _msg: Message,
    ) -> None:
        if err is not None:
            # Only permanent errors get here (message.timeout.ms is infinite): keep the event, as a dead letter.
            log.error("bridge %s: Kafka refused an event from %s: %s", self.config.bridge_id, mqtt_topic, err)
            reject = Reject(KAFKA_REASON, "", f"Kafka refused the event: {err.str()}")
            self._pending_dead.append(_DeadLetterWork(slot, received, mqtt_topic, payload, reject))
            return
        self._acks.done(slot)
        age = None if event_ts is None else time.time() - event_ts
        self.metrics.record_produced(kafka_topic, time.perf_counter() - received, age)

    def _on_dead_lettered(self, work: _DeadLetterWork, err: KafkaError | None, _m: Message) -> None:
        if err is not None:
            # Kept, and retried with a back-off: the message stays unacknowledged (its PUBACK, and those
            # after it, wait) until Kafka takes its dead letter. Never dropped, never stuck for good.
            work.attempt += 1
            delay = min(RETRY_MAX_S, RETRY_MIN_S * 2 ** min(work.attempt - 1, 10))
            work.not_before = time.monotonic() + delay
            log.error(
                "bridge %s: dead letter not delivered (attempt %d, retry in %.1f s): %s",
                self.config.bridge_id,
                work.attempt,
                delay,
                err,
            )
            self.metrics.delivery_failed += 1
            self._pending_dead.append(work)
            return
        self._acks.done(work.slot)
        self.metrics.record_dead_letter(work.reject.reason_kind, time.perf_counter() - work.received)

    def _on_kafka_error(self, err: KafkaError) -> None:
        if err.fatal():
            log.critical("bridge %s: fatal Kafka producer error: %s", self.config.bridge_id, err)
            self.failed.set()
        else:
            log.warning("bridge %s: Kafka: %s", self.config.bridge_id, err)


@dataclass(slots=True, eq=False)
class _DeadLetterWork:
    """A dead letter to produce (again): everything needed to rebuild it and acknowledge its message."""

    slot: AckSlot | None
    received: float
    topic: str
    payload: bytes
    reject: Reject
    attempt: int = 0
    not_before: float = 0.0


def _no_delay(_client: mqtt.Client, _userdata: Any, sock: Any) -> None:
    # PUBACKs are tiny; without this, Nagle holds them back and the broker's window stalls.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
