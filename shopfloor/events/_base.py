"""The event envelope every message on the bus carries.

Every event is a frozen pydantic model: ``event_id`` is made once by the producer and is the
de-duplication key everywhere downstream (bridge, Kafka, database). ``seq`` is a per-source counter so
consumers can see gaps; ``ts`` is the event time and must be timezone-aware (stored in UTC).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

SCHEMA_VERSION = 1

# Identifiers of machines, work orders, orders, customers... : short, printable, no spaces or
# MQTT wildcards so they can stand in topic levels and Kafka keys.
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# ISO-8601 date and time (seconds and fraction optional), e.g. 2026-11-25T07:52:51.25Z or ...+08:00.
# The offset is optional here only so that a naive time gets pydantic's own "timezone" error.
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)?")
ISO_DATETIME_ERROR = "iso_datetime"


def _iso_string(value: Any) -> Any:
    """On the wire a time is an ISO-8601 string: pydantic alone would also take 0 (1970) or "1700000000".

    The string is parsed here (strict validation takes no strings for datetimes after a validator)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATETIME.fullmatch(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass  # e.g. month 13: reported below
    raise PydanticCustomError(
        ISO_DATETIME_ERROR,
        "must be an ISO-8601 date and time with an offset, e.g. 2026-11-25T07:52:51Z, not {value}",
        {"value": repr(value)[:40]},
    )


UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_string), AfterValidator(_to_utc)]
"""A timezone-aware datetime, normalised to UTC: a ``datetime`` in Python, an ISO-8601 string with an
offset in JSON. Naive datetimes, numbers and numeric strings (epoch seconds) are rejected."""

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
