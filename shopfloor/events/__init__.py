"""Event contracts: the envelope, every event type, and the one parser everybody uses.

``parse_event(raw)`` turns bytes from MQTT or Kafka into a typed, frozen event, or raises
:class:`EventError` naming the field and the reason. That error is what the bridge writes to the
dead-letter topic, so its ``kind`` is a small stable vocabulary.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import Field, TypeAdapter, ValidationError

from shopfloor.events._base import (
    ISO_DATETIME_ERROR,
    SCHEMA_VERSION,
    EventBase,
    Ident,
    Model,
    UtcDatetime,
    new_event_id,
    utcnow,
)
from shopfloor.events.machine import (
    BREAKDOWN_STATES,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineProcessEvent,
    MachineProcessPayload,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
    ProcessValue,
    Unit,
)
from shopfloor.events.mes import (
    PauseReason,
    WoFinishedEvent,
    WoFinishedPayload,
    WoPausedEvent,
    WoPausedPayload,
    WoReportedEvent,
    WoReportedPayload,
    WoResumedEvent,
    WoResumedPayload,
    WoStartedEvent,
    WoStartedPayload,
)
from shopfloor.events.node import (
    NodeBirthEvent,
    NodeBirthPayload,
    NodeDeathEvent,
    NodeDeathPayload,
    NodeKind,
)
from shopfloor.events.orders import (
    OperationSpec,
    OrderApprovedEvent,
    OrderCancelledEvent,
    OrderCancelledPayload,
    OrderChangedEvent,
    OrderChangedPayload,
    OrderCreatedEvent,
    OrderLine,
    OrderPayload,
    OrderStatus,
    WoReleasedEvent,
    WoReleasedPayload,
)
from shopfloor.events.planning import (
    AlertClearedEvent,
    AlertClearedPayload,
    AlertKind,
    AlertRaisedEvent,
    AlertRaisedPayload,
    Audience,
    BottleneckClearedEvent,
    BottleneckClearedPayload,
    BottleneckDetectedEvent,
    BottleneckDetectedPayload,
    OperationMove,
    SchedulePublishedEvent,
    SchedulePublishedPayload,
)

Event = Annotated[
    MachineStateEvent
    | MachineCounterEvent
    | MachineProcessEvent
    | WoStartedEvent
    | WoReportedEvent
    | WoPausedEvent
    | WoResumedEvent
    | WoFinishedEvent
    | OrderCreatedEvent
    | OrderApprovedEvent
    | OrderChangedEvent
    | OrderCancelledEvent
    | WoReleasedEvent
    | BottleneckDetectedEvent
    | BottleneckClearedEvent
    | SchedulePublishedEvent
    | AlertRaisedEvent
    | AlertClearedEvent
    | NodeBirthEvent
    | NodeDeathEvent,
    Field(discriminator="type"),
]

EVENT_ADAPTER: Final[TypeAdapter[Event]] = TypeAdapter(Event)

EVENT_CLASSES: Final[dict[str, type[EventBase]]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        MachineStateEvent,
        MachineCounterEvent,
        MachineProcessEvent,
        WoStartedEvent,
        WoReportedEvent,
        WoPausedEvent,
        WoResumedEvent,
        WoFinishedEvent,
        OrderCreatedEvent,
        OrderApprovedEvent,
        OrderChangedEvent,
        OrderCancelledEvent,
        WoReleasedEvent,
        BottleneckDetectedEvent,
        BottleneckClearedEvent,
        SchedulePublishedEvent,
        AlertRaisedEvent,
        AlertClearedEvent,
        NodeBirthEvent,
        NodeDeathEvent,
    )
}
"""Event type name -> model class."""


def event_type(cls: type[EventBase]) -> str:
    """The ``type`` of an event class: ``event_type(MachineStateEvent) == "machine.state"``."""
    return str(cls.model_fields["type"].default)


def _types(*classes: type[EventBase]) -> frozenset[str]:
    return frozenset(event_type(cls) for cls in classes)


# Groups of event types, for everyone who filters or stores by type (never retype them elsewhere).
EVENT_TYPES: Final = frozenset(EVENT_CLASSES)
MACHINE_EVENT_TYPES: Final = _types(MachineStateEvent, MachineCounterEvent, MachineProcessEvent)
MES_EVENT_TYPES: Final = _types(WoStartedEvent, WoReportedEvent, WoPausedEvent, WoResumedEvent, WoFinishedEvent)
"""What operators report on a work order (``shopfloor.mes``, the ``mes_event`` table); not ``wo.released``."""
ORDER_EVENT_TYPES: Final = _types(OrderCreatedEvent, OrderApprovedEvent, OrderChangedEvent, OrderCancelledEvent)
BOTTLENECK_EVENT_TYPES: Final = _types(BottleneckDetectedEvent, BottleneckClearedEvent)
NODE_EVENT_TYPES: Final = _types(NodeBirthEvent, NodeDeathEvent)

MAX_EVENT_BYTES: Final = 64 * 1024
"""Largest serialized event accepted; a real event is well under 4 KiB."""


class ErrorKind(StrEnum):
    """Why a message was rejected: stable names for dead-letter reasons and metrics."""

    OVERSIZED = "oversized"
    NOT_JSON = "not_json"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    NAIVE_DATETIME = "naive_datetime"
    # A time that is not an ISO-8601 string (epoch numbers, "1700000000", a bare date).
    NOT_ISO_DATETIME = "not_iso_datetime"
    # An event time further ahead of the receiver's clock than the allowed skew.
    FUTURE_TS = "future_ts"
    # A value of the wrong JSON type: "7" for a number, "yes" for a boolean (nothing is coerced).
    WRONG_TYPE = "wrong_type"
    # A unit that is not one of Unit, or not the unit the plant model declares for that quantity.
    WRONG_UNIT = "wrong_unit"
    INVALID = "invalid"


class EventError(ValueError):
    """A message that is not a valid event; ``field`` is a dotted path, ``reason`` plain words."""

    def __init__(self, kind: ErrorKind, field: str, reason: str) -> None:
        self.kind = kind
        self.field = field
        self.reason = reason
        super().__init__(f"{kind.value}: {field or '<message>'}: {reason}")


def _classify(error: Any) -> ErrorKind:
    kind = str(error["type"])
    loc = tuple(str(part) for part in error["loc"])
    if kind == "json_invalid" or kind == "model_attributes_type":
        return ErrorKind.NOT_JSON
    if kind == "union_tag_invalid":
        return ErrorKind.UNKNOWN_TYPE
    if kind in ("missing", "union_tag_not_found"):
        return ErrorKind.MISSING_FIELD
    if kind == "timezone_aware":
        return ErrorKind.NAIVE_DATETIME
    if kind == ISO_DATETIME_ERROR:
        return ErrorKind.NOT_ISO_DATETIME
    if kind == "enum" and loc and loc[-1] == "unit":
        return ErrorKind.WRONG_UNIT
    if kind in _WRONG_TYPE_ERRORS and loc:  # a message that is not an object at all stays "invalid"
        return ErrorKind.WRONG_TYPE
    return ErrorKind.INVALID


# What strict mode reports when a JSON value has the wrong type (lax mode would have converted it).
_WRONG_TYPE_ERRORS: Final = frozenset(
    {"int_type", "float_type", "bool_type", "string_type", "list_type", "dict_type", "model_type", "decimal_type"}
)


def _field_path(error: Any) -> str:
    loc = [str(part) for part in error["loc"]]
    # Drop the discriminator tag pydantic puts in the location (e.g. 'machine.state').
    if loc and loc[0] in EVENT_CLASSES:
        loc = loc[1:]
    if error["type"] == "union_tag_not_found":
        return "type"
    return ".".join(loc)


def parse_event(
    raw: bytes | str,
    *,
    max_bytes: int = MAX_EVENT_BYTES,
    max_future_skew: timedelta | None = None,
    now: datetime | None = None,
) -> Event:
    """Parse one JSON message into an event, or raise :class:`EventError` with field and reason.

    Strict: JSON values are never coerced (``"7"`` is not a number, ``"yes"`` not a boolean) and times
    are ISO-8601 strings with an offset. With ``max_future_skew``, an event time more than that ahead of
    ``now`` (default: the clock) is refused as ``future_ts`` (the receiver's clock-skew allowance).
    """
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > max_bytes:
        raise EventError(ErrorKind.OVERSIZED, "", f"message of {size} bytes exceeds the limit of {max_bytes}")
    try:
        event = EVENT_ADAPTER.validate_json(raw, strict=True)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        kind = _classify(first)
        field = _field_path(first)
        reason = str(first["msg"])
        if kind is ErrorKind.UNKNOWN_TYPE:
            reason = f"unknown event type {first.get('ctx', {}).get('tag')!r}"
        raise EventError(kind, field, reason) from None
    if max_future_skew is not None:
        check_not_future(event, now if now is not None else utcnow(), max_future_skew)
    return event


def check_not_future(event: EventBase, now: datetime, max_future_skew: timedelta) -> None:
    """Raise ``future_ts`` when the event time is more than ``max_future_skew`` ahead of ``now``."""
    ahead = event.ts - now
    if ahead > max_future_skew:
        raise EventError(
            ErrorKind.FUTURE_TS,
            "ts",
            f"event time {event.ts.isoformat()} is {ahead.total_seconds():.0f} s ahead of the receiver's clock "
            f"(allowed skew {max_future_skew.total_seconds():.0f} s)",
        )


def serialize_event(event: EventBase) -> bytes:
    return event.to_json()


__all__ = [
    "BOTTLENECK_EVENT_TYPES",
    "BREAKDOWN_STATES",
    "EVENT_ADAPTER",
    "EVENT_CLASSES",
    "EVENT_TYPES",
    "MACHINE_EVENT_TYPES",
    "MAX_EVENT_BYTES",
    "MES_EVENT_TYPES",
    "NODE_EVENT_TYPES",
    "ORDER_EVENT_TYPES",
    "SCHEMA_VERSION",
    "AlertClearedEvent",
    "AlertClearedPayload",
    "AlertKind",
    "AlertRaisedEvent",
    "AlertRaisedPayload",
    "Audience",
    "BottleneckClearedEvent",
    "BottleneckClearedPayload",
    "BottleneckDetectedEvent",
    "BottleneckDetectedPayload",
    "ErrorKind",
    "Event",
    "EventBase",
    "EventError",
    "Ident",
    "MachineCounterEvent",
    "MachineCounterPayload",
    "MachineProcessEvent",
    "MachineProcessPayload",
    "MachineState",
    "MachineStateEvent",
    "MachineStatePayload",
    "Model",
    "NodeBirthEvent",
    "NodeBirthPayload",
    "NodeDeathEvent",
    "NodeDeathPayload",
    "NodeKind",
    "OperationMove",
    "OperationSpec",
    "OrderApprovedEvent",
    "OrderCancelledEvent",
    "OrderCancelledPayload",
    "OrderChangedEvent",
    "OrderChangedPayload",
    "OrderCreatedEvent",
    "OrderLine",
    "OrderPayload",
    "OrderStatus",
    "PauseReason",
    "ProcessValue",
    "SchedulePublishedEvent",
    "SchedulePublishedPayload",
    "Unit",
    "UtcDatetime",
    "WoFinishedEvent",
    "WoFinishedPayload",
    "WoPausedEvent",
    "WoPausedPayload",
    "WoReleasedEvent",
    "WoReleasedPayload",
    "WoReportedEvent",
    "WoReportedPayload",
    "WoResumedEvent",
    "WoResumedPayload",
    "WoStartedEvent",
    "WoStartedPayload",
    "check_not_future",
    "event_type",
    "new_event_id",
    "parse_event",
    "serialize_event",
    "utcnow",
]
