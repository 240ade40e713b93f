"""Kafka header names: what producers set on every record and consumers may read without parsing it.

Values are UTF-8 strings. Events carry ``type``, ``source`` and ``event_id`` (a consumer can skip the
types it does not want, or de-duplicate, unparsed); dead letters carry ``reason_kind`` and ``mqtt_topic``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from shopfloor.events import EventBase

HEADER_TYPE: Final = "type"
HEADER_SOURCE: Final = "source"
HEADER_EVENT_ID: Final = "event_id"
HEADER_REASON: Final = "reason_kind"
HEADER_MQTT_TOPIC: Final = "mqtt_topic"

EVENT_HEADERS: Final = (HEADER_TYPE, HEADER_SOURCE, HEADER_EVENT_ID)
"""The headers of every event record, in this order."""

DEADLETTER_HEADERS: Final = (HEADER_REASON, HEADER_MQTT_TOPIC)
"""The headers of every dead-letter record, in this order."""

Headers = list[tuple[str, str | bytes | None]]
"""Headers as a producer takes them."""

RawHeaders = Sequence[tuple[str, str | bytes | None]] | Mapping[str, str | bytes | None]


def header_value(headers: RawHeaders | None, name: str) -> str | None:
    """The first header ``name`` as text (confluent-kafka gives a list of pairs, or a dict), else None."""
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in pairs:
        if key == name and value is not None:
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


def event_headers(event: EventBase) -> Headers:
    """The headers of an event's Kafka record (:data:`EVENT_HEADERS`)."""
    event_type = str(getattr(event, "type"))  # noqa: B009 - every concrete event has a type
    return [
        (HEADER_TYPE, event_type.encode()),
        (HEADER_SOURCE, event.source.encode()),
        (HEADER_EVENT_ID, str(event.event_id).encode()),
    ]


__all__ = [
    "DEADLETTER_HEADERS",
    "EVENT_HEADERS",
    "HEADER_EVENT_ID",
    "HEADER_MQTT_TOPIC",
    "HEADER_REASON",
    "HEADER_SOURCE",
    "HEADER_TYPE",
    "Headers",
    "RawHeaders",
    "event_headers",
    "header_value",
]
