"""The edge agent: what every edge program (PLC gateway, scan agent, simulator) publishes through.

``publish`` commits the event to the store-and-forward outbox and returns; a sender thread delivers
the outbox in order over MQTT (QoS 1) and deletes rows on PUBACK. The node announces itself with a
retained birth on ``.../<line>/<node_id>/birth`` at every connection; its death is the MQTT will, and is
also published on a graceful close.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Final, Literal, TypeVar

from edge.agent.link import DEFAULT_WINDOW, Message, MqttLink
from edge.buffer import MessageClass, OutboxQueue, QueueStats
from edge.buffer.queue import OutboxItem
from shopfloor.events import (
    EventBase,
    EventError,
    Model,
    NodeBirthEvent,
    NodeBirthPayload,
    NodeDeathEvent,
    NodeDeathPayload,
    NodeKind,
    new_event_id,
    parse_event,
    utcnow,
)
from shopfloor.settings import MqttSettings
from shopfloor.topics import KIND_EVENT_TYPES, MqttKind, confirm_topic, line_prefix, mqtt_topic

E = TypeVar("E", bound=EventBase)

_KIND_OF_TYPE: Final[dict[str, MqttKind]] = {
    event_type: kind for kind, types in KIND_EVENT_TYPES.items() for event_type in types
}
# A topic level: no MQTT separators or wildcards, same alphabet as event identifiers.
_LEVEL: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")


def mqtt_kind_of(event: EventBase) -> MqttKind:
    """The MQTT topic kind an event travels on (``machine.state`` -> ``state``, ``wo.*`` -> ``wo``)."""
    event_type = str(getattr(event, "type"))  # noqa: B009 - every concrete event has a type
    try:
        return _KIND_OF_TYPE[event_type]
    except KeyError:
        raise ValueError(f"event type {event_type!r} is not published by edge agents") from None


def as_historical(payload: bytes) -> bytes:
    """The same event (same ``event_id``) marked as replayed; bytes that are not an event stay as they are."""
    try:
        event = parse_event(payload)
    except EventError:
        return payload
    if event.historical:
        return payload
    return event.model_copy(update={"historical": True}).to_json()


def _check_level(name: str, value: str) -> str:
    if not _LEVEL.match(value):
        raise ValueError(f"{name} {value!r} is not a valid topic level")
    return value


class EdgeAgent:
    """One edge node: its outbox (``queue_path``) and its MQTT connection.

    ``queue_max_rows`` / ``queue_max_bytes`` bound the outbox (see :mod:`edge.buffer.queue` for the
    shedding policy), ``queue_sync`` is SQLite's synchronous level (NORMAL survives kill -9, FULL also
    a power cut), ``queue_fsync_classes`` the message classes whose commits are FULL whatever ``queue_sync``
    says (see :mod:`edge.buffer.queue`), ``confirmed_delivery`` keeps each event until the bridge confirms
    Kafka has it (not just the broker's PUBACK; see :mod:`edge.agent.link`; unconfirmed rows go again after
    ``confirm_timeout_s`` without any confirmation, then after twice that...), ``inflight_window`` the QoS 1
    messages awaiting PUBACK. The MQTT client id is
    ``shopfloor-<enterprise>-<site>-<node_id>``: one connection per node and plant.
    """

    def __init__(
        self,
        node_id: str,
        kind: NodeKind,
        area: str,
        line: str,
        mqtt: MqttSettings,
        queue_path: Path,
        *,
        queue_max_rows: int = 200_000,
        queue_max_bytes: int = 256 * 1024 * 1024,
        queue_sync: Literal["NORMAL", "FULL"] = "NORMAL",
        queue_fsync_classes: Iterable[MessageClass] = (),
        inflight_window: int = DEFAULT_WINDOW,
        confirmed_delivery: bool = False,
        confirm_timeout_s: float = 30.0,
    ) -> None:
        self.node_id = _check_level("node_id", node_id)
        self.kind = kind
        self.area = _check_level("area", area)
        self.line = _check_level("line", line)
        self.mqtt = mqtt
        self.confirmed_delivery = confirmed_delivery
        self.topic_prefix = line_prefix(mqtt.enterprise, mqtt.site, area, line)
        self.queue = OutboxQueue(
            queue_path,
            max_rows=queue_max_rows,
            max_bytes=queue_max_bytes,
            synchronous=queue_sync,
            fsync_classes=queue_fsync_classes,
        )
        self._link = MqttLink(
            self.queue,
            mqtt,
            client_id=f"shopfloor-{mqtt.enterprise}-{mqtt.site}-{node_id}",
            birth=self._birth_message,
            death=self._death_message,
            historical=as_historical,
            window=inflight_window,
            confirm_timeout_s=confirm_timeout_s,
            confirm_topic=confirm_topic(mqtt.enterprise, mqtt.site, area, line, node_id)
            if confirmed_delivery
            else None,
        )
        self._closed = False

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the sender; it connects in the background and keeps reconnecting (works offline)."""
        self._link.start()

    def wait_connected(self, timeout: float) -> bool:
        return self._link.wait_connected(timeout)

    @property
    def connected(self) -> bool:
        return self._link.connected

    def close(self, flush_timeout: float = 5.0) -> None:
        """Graceful: deliver what can be delivered within ``flush_timeout``, publish death, disconnect.

        Waits up to ``flush_timeout`` only if the agent was started and has queued rows. Rows not
        acknowledged stay in the outbox for the next start.
        """
        if self._closed:
            return
        self._closed = True
        if self._link.started and self.queue.rows:
            # Also when not connected yet: a short-lived process (a wedge fed from a file) gets its
            # connection and delivery a chance before exiting.
            self._link.wait_drained(flush_timeout)
        self._link.stop()
        self.queue.close()

    def __enter__(self) -> EdgeAgent:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- events -------------------------------------------------------------------------------------
    def new_event(self, event_cls: type[E], payload: Model, ts: datetime | None = None) -> E:
        """A new event from this node: fresh event_id, source = node id, next seq, ts = now if None."""
        return event_cls.model_validate(
            {
                "event_id": new_event_id(),
                "source": self.node_id,
                "seq": self.queue.next_seq(),
                "ts": utcnow() if ts is None else ts,
                "payload": payload,
            }
        )

    def topic(self, cell: str, kind: MqttKind) -> str:
        return mqtt_topic(self.mqtt.enterprise, self.mqtt.site, self.area, self.line, cell, kind)

    def publish(self, event: EventBase, cell: str) -> None:
        """Commit the event to the outbox (durable when this returns), then let the sender deliver it.

        Raises :class:`edge.buffer.QueueFullError` for a ``wo.*`` event the full queue cannot take.
        A process value or telemetry event the full queue cannot take is shed (counted in ``stats``).
        """
        self.publish_many([(event, cell)])

    def publish_many(self, items: Iterable[tuple[EventBase, str]]) -> int:
        """Like ``publish`` for many events in one transaction (much faster); returns how many were kept."""
        batch = []
        for event, cell in items:
            kind = mqtt_kind_of(event)
            # The bridge dead-letters a machine event on another machine's topic (shopfloor.topics.route);
            # refuse it here, where the mistake is made. Misplaced messages on purpose: publish_raw.
            if event.key_field in ("machine_id", "node_id") and event.key != cell:
                raise ValueError(
                    f"{event.key_field} {event.key!r} must be published with cell {event.key!r}, not {cell!r}"
                )
            # With confirmations, the bridge confirms this node's own seqs; other rows leave on PUBACK.
            seq = event.seq if self.confirmed_delivery and event.source == self.node_id else None
            topic = self.topic(_check_level("cell", cell), kind)
            batch.append(OutboxItem(topic, event.to_json(), MessageClass.for_kind(kind), seq=seq))
        admitted = self.queue.put_many(batch)
        self._link.wake()
        return admitted

    def publish_raw(self, cell: str, kind: MqttKind, payload: bytes) -> None:
        """Arbitrary bytes through the same queue (fault injection: malformed or misplaced messages)."""
        item = OutboxItem(self.topic(_check_level("cell", cell), kind), payload, MessageClass.for_kind(kind), False)
        self.queue.put_many([item])
        self._link.wake()

    def flush(self, timeout: float) -> bool:
        """True when the outbox is empty, i.e. everything published so far was acknowledged."""
        return self._link.wait_drained(timeout)

    @property
    def queued(self) -> int:
        return self.queue.rows

    def stats(self) -> QueueStats:
        return self.queue.stats()

    @property
    def sent(self) -> int:
        """Rows acknowledged by the broker since this process started."""
        return self._link.sent

    # -- birth and death ----------------------------------------------------------------------------
    def _birth_message(self, seq: int) -> Message:
        stats = self.queue.stats()
        metrics = {
            "queued": float(stats.rows),
            "queued_bytes": float(stats.bytes),
            "sent": float(self._link.sent),
            "shed": float(stats.shed),
            "refused": float(stats.refused),
            "connections": float(self._link.connections),
        }
        payload = NodeBirthPayload(
            node_id=self.node_id, kind=self.kind, seq_start=seq, topic_prefix=self.topic_prefix, metrics=metrics
        )
        event = NodeBirthEvent(event_id=new_event_id(), source=self.node_id, seq=seq, ts=utcnow(), payload=payload)
        return self.topic(self.node_id, MqttKind.BIRTH), event.to_json()

    def _death_message(self, seq: int, reason: str) -> Message:
        payload = NodeDeathPayload(node_id=self.node_id, reason=reason)
        event = NodeDeathEvent(event_id=new_event_id(), source=self.node_id, seq=seq, ts=utcnow(), payload=payload)
        return self.topic(self.node_id, MqttKind.DEATH), event.to_json()
