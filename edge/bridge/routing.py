"""The bridge's pure decisions: where an MQTT message goes in Kafka, and the dead letter it becomes if invalid.

No I/O here, so every branch is unit-tested without servers. The hot path is :func:`decide`: one
``parse_event`` (pydantic, in Rust), one (cached) ``route``, three headers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from shopfloor.deadletter import DeadLetter
from shopfloor.events import MAX_EVENT_BYTES, Event, EventBase, EventError, parse_event
from shopfloor.headers import HEADER_EVENT_ID, HEADER_MQTT_TOPIC, HEADER_REASON, HEADER_SOURCE, HEADER_TYPE
from shopfloor.topics import KafkaTopic, Route, TopicError, route

TOPIC_REASON: Final = "topic"
"""``reason_kind`` of a message on a topic outside the namespace or where its type does not belong."""


# Dead letters keep at most this much of the original: a 10 MB debug dump must not become a 13 MB
# Kafka record (the producer's limit is 1 MB); the first 64 KiB are plenty to see what it was.
MAX_ORIGINAL_BYTES: Final = MAX_EVENT_BYTES

Headers = list[tuple[str, str | bytes | None]]


@dataclass(frozen=True, slots=True)
class Forward:
    """A valid event: produce ``payload`` (the original bytes, untouched) to ``topic`` with ``key``."""

    topic: KafkaTopic
    key: str
    headers: Headers
    # Event time in seconds since the epoch, for the publish -> delivery latency; None for replays.
    event_ts: float | None
    # The publishing node and its seq, for the delivery confirmation (see confirm.py).
    source: str = field(default="", compare=False)
    seq: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Reject:
    """An invalid message: why, in the dead-letter vocabulary."""

    reason_kind: str
    field: str
    reason: str


# route() depends only on the MQTT topic, the event type and the key: a plant has a few thousand such
# triples, and remembering them takes topic parsing off the hot path. Refusals are not cached.
_ROUTES: dict[tuple[str, str, str], Route] = {}
_MAX_ROUTES: Final = 65536


def _route(mqtt_topic: str, event: EventBase) -> Route:
    cache_key = (mqtt_topic, str(getattr(event, "type")), event.key)  # noqa: B009
    cached = _ROUTES.get(cache_key)
    if cached is None:
        cached = route(mqtt_topic, event)
        if len(_ROUTES) >= _MAX_ROUTES:
            _ROUTES.clear()
        _ROUTES[cache_key] = cached
    return cached


def decide(mqtt_topic: str, payload: bytes, parse: Callable[[bytes], Event] = parse_event) -> Forward | Reject:
    """Parse (``parse``: the core's EventValidator.parse in the bridge) and route one MQTT message; never
    raises for bad input."""
    try:
        event = parse(payload)
        target = _route(mqtt_topic, event)
    except EventError as exc:
        return Reject(exc.kind.value, exc.field, exc.reason)
    except TopicError as exc:
        return Reject(TOPIC_REASON, "", str(exc))
    headers: Headers = [
        (HEADER_TYPE, event.type),
        (HEADER_SOURCE, event.source),
        (HEADER_EVENT_ID, str(event.event_id)),
    ]
    # Replays from a store-and-forward queue are old on purpose; their age is not bridge latency.
    event_ts = None if event.historical else event.ts.timestamp()
    return Forward(target.topic, target.key, headers, event_ts, event.source, event.seq)


def dead_letter(mqtt_topic: str, payload: bytes, reject: Reject, bridge_id: str, now: datetime) -> DeadLetter:
    """The record written to the dead-letter topic for a rejected message (original truncated if huge)."""
    reason = reject.reason
    original = payload
    if len(payload) > MAX_ORIGINAL_BYTES:
        original = payload[:MAX_ORIGINAL_BYTES]
        reason = f"{reason} (original truncated to its first {MAX_ORIGINAL_BYTES} bytes)"
    return DeadLetter(
        original=original,
        source_topic=mqtt_topic[:1024],
        reason_kind=reject.reason_kind,
        field=reject.field[:256],
        reason=reason[:2048],
        ts=now,
        rejected_by=bridge_id[:128],
    )


def dead_letter_headers(mqtt_topic: str, reject: Reject) -> Headers:
    return [(HEADER_REASON, reject.reason_kind), (HEADER_MQTT_TOPIC, mqtt_topic[:1024])]
