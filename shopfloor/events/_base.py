"""The event envelope every message on the bus carries.

Every event is a frozen pydantic model: ``event_id`` is made once by the producer and is the
de-duplication key everywhere downstream (bridge, Kafka, database). ``seq`` is a per-source counter so
consumers can see gaps; ``ts`` is the event time and must be timezone-aware (stored in UTC).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, ClassVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

SCHEMA_VERSION = 1

# Identifiers of machines, work orders, orders, customers... : short, printable, no spaces or
# MQTT wildcards so they can stand in topic levels and Kafka keys.
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware datetime, normalised to UTC. Naive datetimes are rejected."""

Count = Annotated[int, Field(ge=0)]


class Model(BaseModel):
    """Base of every contract model: immutable, strict about unknown fields and non-finite numbers."""

    # allow_inf_nan=False: JSON has no inf/NaN, pydantic would serialize them as null and the event
    # would no longer parse (a BottleneckDetected with load_hours=inf did exactly that).
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class EventBase(Model):
    """Fields common to every event; subclasses fix ``type`` and ``payload``."""

    event_id: uuid.UUID
    source: Ident
    seq: Count
    ts: UtcDatetime
    schema_version: Annotated[int, Field(ge=1, le=SCHEMA_VERSION)] = SCHEMA_VERSION
    # Set on messages replayed from an edge agent's store-and-forward queue after an outage.
    historical: bool = False

    # Name of the payload field that keys the event on Kafka (per-key ordering).
    key_field: ClassVar[str] = ""

    @property
    def key(self) -> str:
        """Kafka partition key: the machine, work order or order the event is about."""
        payload = getattr(self, "payload")  # noqa: B009 - every concrete event has a payload
        return str(getattr(payload, self.key_field))

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


def new_event_id() -> uuid.UUID:
    return uuid.uuid4()


def utcnow() -> datetime:
    return datetime.now(UTC)
