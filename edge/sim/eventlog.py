"""The event log: one JSON line per message the simulator sent, the oracle end-to-end tests compare against.

A line records where the message went (MQTT topic), when in simulated time, which trouble it carried,
and either the event itself or the malformed payload (base64) with the reason it must be rejected for.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from edge.sim.faults import event_type
from edge.sim.stream import Emission
from shopfloor.events import Model, UtcDatetime
from shopfloor.topics import MqttKind, mqtt_topic

TopicOf = Callable[[Emission], str]


class LogRecord(Model):
    at: UtcDatetime
    node_id: str
    topic: str
    trouble: str | None = None
    event_id: str | None = None
    event_type: str | None = None
    event: dict[str, Any] | None = None
    fault: str | None = None
    expected_reason: str | None = None
    payload_b64: str | None = None

    @property
    def payload(self) -> bytes:
        """The bytes sent for a malformed message."""
        return base64.b64decode(self.payload_b64 or "")


def record_of(emission: Emission, topic: str) -> LogRecord:
    if emission.malformed is not None:
        bad = emission.malformed
        return LogRecord(
            at=emission.at,
            node_id=emission.node_id,
            topic=topic,
            trouble=emission.trouble,
            fault=bad.fault,
            expected_reason=bad.expected_reason,
            payload_b64=base64.b64encode(bad.payload).decode(),
        )
    assert emission.event is not None
    event = emission.event
    return LogRecord(
        at=emission.at,
        node_id=emission.node_id,
        topic=topic,
        trouble=emission.trouble,
        event_id=str(event.event_id),
        event_type=event_type(event),
        event=event.model_dump(mode="json"),
    )


class EventLog:
    """Append records to a JSONL file; a context manager that closes the file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[str] = path.open("w", encoding="utf-8")

    def write(self, emission: Emission, topic: str) -> None:
        self._file.write(record_of(emission, topic).model_dump_json(exclude_none=True) + "\n")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_event_log(path: Path) -> Iterator[LogRecord]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield LogRecord.model_validate_json(line)


def topic_builder(enterprise: str, site: str, nodes: dict[str, tuple[str, str]]) -> TopicOf:
    """Topic of an emission from node id -> (area, line), as the edge agents will publish it."""

    def topic_of(emission: Emission) -> str:
        area, line = nodes[emission.node_id]
        kind: MqttKind = emission.mqtt_kind
        return mqtt_topic(enterprise, site, area, line, emission.cell, kind)

    return topic_of
