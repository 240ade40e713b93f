"""Malformed messages the simulator injects, each with the reason the bridge must reject it for.

Pure functions, no I/O: the simulator publishes what :func:`malformed_message` builds through
``EdgeAgent.publish_raw``, and the bridge tests import the same module to check that every kind ends in
the dead-letter topic with :data:`EXPECTED_REASON`. A reason is an ``ErrorKind`` value (the payload fails
``parse_event``) or ``"topic"`` (the payload parses but ``route`` refuses it on that MQTT topic).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from shopfloor.events import MAX_EVENT_BYTES, ErrorKind, EventBase
from shopfloor.topics import KIND_EVENT_TYPES, MqttKind

TOPIC_REASON: Final = "topic"
"""Reason kind of a valid event on a topic where it does not belong (``shopfloor.topics.TopicError``)."""

# The kinds a machine or work-order event travels on; malformed messages only ever use these.
_DATA_KINDS: Final = (MqttKind.STATE, MqttKind.COUNTER, MqttKind.PROCESS, MqttKind.WO)


class MalformedKind(StrEnum):
    NOT_JSON = "not_json"  # line noise from a gateway with the wrong serializer
    TRUNCATED_JSON = "truncated_json"  # a message cut off mid-way (buffer limit, dropped link)
    BINARY_GARBAGE = "binary_garbage"  # not even UTF-8
    UNKNOWN_TYPE = "unknown_type"  # a newer firmware's event type
    MISSING_FIELD = "missing_field"  # an old agent that omits an envelope field
    NAIVE_DATETIME = "naive_datetime"  # a PLC clock without a time zone
    WRONG_UNIT = "wrong_unit"  # a process value in a unit the platform does not know
    OVERSIZED = "oversized"  # a debug dump sent as an event
    NEGATIVE_COUNTER = "negative_counter"  # a signed register read as a counter
    NON_FINITE_VALUE = "non_finite_value"  # a sensor reporting infinity after a wire break
    BAD_STATE = "bad_state"  # a machine state outside the vocabulary
    FUTURE_SCHEMA = "future_schema"  # a schema version this platform cannot read
    WRONG_TOPIC = "wrong_topic"  # a valid event on the topic of another kind
    SPOOFED_MACHINE = "spoofed_machine"  # a valid machine event naming a machine other than the topic's cell


EXPECTED_REASON: Final[dict[MalformedKind, str]] = {
    MalformedKind.NOT_JSON: ErrorKind.NOT_JSON.value,
    MalformedKind.TRUNCATED_JSON: ErrorKind.NOT_JSON.value,
    MalformedKind.BINARY_GARBAGE: ErrorKind.NOT_JSON.value,
    MalformedKind.UNKNOWN_TYPE: ErrorKind.UNKNOWN_TYPE.value,
    MalformedKind.MISSING_FIELD: ErrorKind.MISSING_FIELD.value,
    MalformedKind.NAIVE_DATETIME: ErrorKind.NAIVE_DATETIME.value,
    MalformedKind.WRONG_UNIT: ErrorKind.WRONG_UNIT.value,
    MalformedKind.OVERSIZED: ErrorKind.OVERSIZED.value,
    MalformedKind.NEGATIVE_COUNTER: ErrorKind.INVALID.value,
    MalformedKind.NON_FINITE_VALUE: ErrorKind.INVALID.value,
    MalformedKind.BAD_STATE: ErrorKind.INVALID.value,
    MalformedKind.FUTURE_SCHEMA: ErrorKind.INVALID.value,
    MalformedKind.WRONG_TOPIC: TOPIC_REASON,
    MalformedKind.SPOOFED_MACHINE: TOPIC_REASON,
}


@dataclass(frozen=True, slots=True)
class MalformedMessage:
    """What to publish (``payload`` on ``<line prefix>/<cell>/<mqtt_kind>``) and why it must be rejected."""

    fault: MalformedKind
    cell: str
    mqtt_kind: MqttKind
    payload: bytes
    expected_reason: str


def mqtt_kind_of(event_type: str) -> MqttKind:
    """The MQTT topic kind an event type travels on."""
    for kind, types in KIND_EVENT_TYPES.items():
        if event_type in types:
            return kind
    raise ValueError(f"event type {event_type!r} does not travel over MQTT")


def cell_of(event: EventBase) -> str:
    """The topic cell an event is published under: its machine (or node), else its source."""
    payload = getattr(event, "payload")  # noqa: B009 - every concrete event has a payload
    for name in ("machine_id", "node_id"):
        value = getattr(payload, name, None)
        if value:
            return str(value)
    return event.source


def event_type(event: EventBase) -> str:
    """The ``type`` discriminator of a concrete event."""
    return str(getattr(event, "type"))  # noqa: B009 - every concrete event has a type, EventBase does not


def _own_kind(event: EventBase) -> MqttKind:
    return mqtt_kind_of(event_type(event))


def _as_dict(event: EventBase) -> dict[str, Any]:
    return json.loads(event.to_json())  # type: ignore[no-any-return]


def _dump(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


def _machine_message(event: EventBase, event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The event's envelope carrying a machine payload of ``event_type`` for the event's cell."""
    message = _as_dict(event)
    message["type"] = event_type
    message["payload"] = {"machine_id": cell_of(event), **payload}
    return message


def _not_json(event: EventBase, rng: random.Random) -> tuple[MqttKind, bytes]:
    noise = rng.choice(["STATE=RUN;GOOD=1200", "<state>RUNNING</state>", "ERR 0x1F", "{state: RUNNING}"])
    return _own_kind(event), noise.encode()


def _truncated(event: EventBase, rng: random.Random) -> tuple[MqttKind, bytes]:
    raw = event.to_json()
    return _own_kind(event), raw[: rng.randint(1, len(raw) - 2)]


def _binary(event: EventBase, rng: random.Random) -> tuple[MqttKind, bytes]:
    # 0xff never occurs in UTF-8, so the message can never decode, whatever follows it.
    return _own_kind(event), b"\xff" + rng.randbytes(rng.randint(8, 64))


def _unknown_type(event: EventBase, rng: random.Random) -> tuple[MqttKind, bytes]:
    message = _as_dict(event)
    message["type"] = rng.choice(["machine.vibration", "machine.alarm", "wo.teleported", "energy.meter"])
    return _own_kind(event), _dump(message)


def _missing_field(event: EventBase, rng: random.Random) -> tuple[MqttKind, bytes]:
    message = _as_dict(event)
    del message[rng.choice(["event_id", "source", "seq", "ts", "payload"])]
    return _own_kind(event), _dump(message)


def _naive_datetime(event: EventBase, rng: random.Random) -> tuple[MqttKind, bytes]:
    message = _as_dict(event)
    ts = getattr(event, "ts")  # noqa: B009
    message["ts"] = ts.replace(tzinfo=None).isoformat()
    return _own_kind(event), _dump(message)


def _wrong_unit(event: EventBase, rng: random.Random) -> tuple[MqttKind, bytes]:
    name, unit = rng.choice([("force", "lbf"), ("temperature", "degF"), ("pressure", "psi"), ("speed", "ips")])
    value = {"name": name, "value": round(rng.uniform(1, 500), 2), "unit": unit}
    return MqttKind.PROCESS, _dump(_machine_message(event, "machine.process", {"values": [value]}))


def _oversized(event: EventBase, rng: random.Random) -> tuple[MqttKind, bytes]:
    message = _as_dict(event)
    message["debug_dump"] = rng.randbytes(MAX_EVENT_BYTES // 2 + 1024).hex()
    return _own_kind(event), _dump(message)


def _negative_counter(event: EventBase, rng: random.Random) -> tuple[MqttKind, bytes]:
    counts = {"good": -rng.randint(1, 32768), "scrap": rng.randint(0, 10)}
    return MqttKind.COUNTER, _dump(_machine_message(event, "machine.counter", counts))


def _non_finite(event: EventBase, rng: random.Random) -> tuple[MqttKind, bytes]:
    message = _machine_message(
        event, "machine.process", {"values": [{"name": "temperature", "value": 0.0, "unit": "degC"}]}
    )
    # JSON has no infinity; an overflowing literal is what a broken serializer really sends.
    literal = rng.choice(["1e999", "-1e999", "NaN", "Infinity"])
    return MqttKind.PROCESS, _dump(message).replace(b'"value":0.0', b'"value":' + literal.encode())


def _bad_state(event: EventBase, rng: random.Random) -> tuple[MqttKind, bytes]:
    state = {"state": rng.choice(["EXPLODED", "running", "AUTO", "3"])}
    return MqttKind.STATE, _dump(_machine_message(event, "machine.state", state))


def _future_schema(event: EventBase, rng: random.Random) -> tuple[MqttKind, bytes]:
    message = _as_dict(event)
    message["schema_version"] = rng.randint(2, 9)
    return _own_kind(event), _dump(message)


def _wrong_topic(event: EventBase, rng: random.Random) -> tuple[MqttKind, bytes]:
    own = _own_kind(event)
    return rng.choice([kind for kind in _DATA_KINDS if kind is not own]), event.to_json()


_BUILDERS: Final[dict[MalformedKind, Callable[[EventBase, random.Random], tuple[MqttKind, bytes]]]] = {
    MalformedKind.NOT_JSON: _not_json,
    MalformedKind.TRUNCATED_JSON: _truncated,
    MalformedKind.BINARY_GARBAGE: _binary,
    MalformedKind.UNKNOWN_TYPE: _unknown_type,
    MalformedKind.MISSING_FIELD: _missing_field,
    MalformedKind.NAIVE_DATETIME: _naive_datetime,
    MalformedKind.WRONG_UNIT: _wrong_unit,
    MalformedKind.OVERSIZED: _oversized,
    MalformedKind.NEGATIVE_COUNTER: _negative_counter,
    MalformedKind.NON_FINITE_VALUE: _non_finite,
    MalformedKind.BAD_STATE: _bad_state,
    MalformedKind.FUTURE_SCHEMA: _future_schema,
    MalformedKind.WRONG_TOPIC: _wrong_topic,
}


def _spoofed(event: EventBase, rng: random.Random, peers: Sequence[str]) -> tuple[MqttKind, bytes]:
    cell = cell_of(event)
    others = [peer for peer in peers if peer != cell] or [f"{cell}-X{rng.randint(1, 9)}"]
    if _own_kind(event) in (MqttKind.STATE, MqttKind.COUNTER, MqttKind.PROCESS):
        message = _as_dict(event)
    else:  # a work-order event names no machine in its key: spoof a state event instead
        message = _machine_message(event, "machine.state", {"state": "RUNNING"})
    message["payload"]["machine_id"] = rng.choice(others)
    return mqtt_kind_of(message["type"]), _dump(message)


def malformed_message(
    kind: MalformedKind, base_event: EventBase, rng: random.Random, *, peers: Sequence[str] = ()
) -> MalformedMessage:
    """Spoil ``base_event`` (a machine or work-order event) the way ``kind`` says.

    The message is addressed to the base event's cell. ``peers`` are other machine ids of the plant, used
    as the impostor's id by ``SPOOFED_MACHINE`` (a made-up id otherwise).
    """
    if kind is MalformedKind.SPOOFED_MACHINE:
        mqtt_kind, payload = _spoofed(base_event, rng, peers)
    else:
        mqtt_kind, payload = _BUILDERS[kind](base_event, rng)
    return MalformedMessage(kind, cell_of(base_event), mqtt_kind, payload, EXPECTED_REASON[kind])
