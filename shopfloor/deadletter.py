"""The dead-letter record: what the bridge writes to ``shopfloor.deadletter`` for a message it rejects.

The original bytes travel base64-encoded so nothing about the bad message is lost, whatever it was.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from shopfloor.events import Model, UtcDatetime


class DeadLetter(Model):
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    original: bytes
    # Where the message came from: an MQTT topic (edge) or a Kafka topic (stream processors).
    source_topic: Annotated[str, Field(max_length=1024)]
    # Stable reason code: an ``ErrorKind`` value, or ``topic`` for a message on the wrong topic.
    reason_kind: Annotated[str, Field(max_length=32)]
    field: Annotated[str, Field(max_length=256)] = ""
    reason: Annotated[str, Field(max_length=2048)]
    ts: UtcDatetime
    # Which process rejected it (bridge id, processor name).
    rejected_by: Annotated[str, Field(max_length=128)] = ""

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()
