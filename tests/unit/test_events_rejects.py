"""Each kind of bad input is rejected by ``parse_event`` with its kind, field and reason."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from shopfloor.events import (
    MAX_EVENT_BYTES,
    BottleneckDetectedPayload,
    ErrorKind,
    EventError,
    MachineProcessEvent,
    MachineStateEvent,
    MachineStatePayload,
    NodeBirthPayload,
    NodeKind,
    parse_event,
)

pytestmark = pytest.mark.unit


def process_message(**changes: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "source": "gw-heading-1",
        "seq": 7,
        "ts": "2026-11-25T07:52:51.250000Z",
        "type": "machine.process",
        "payload": {"machine_id": "H2", "values": [{"name": "forming_force", "value": 181.5, "unit": "kN"}]},
    }
    message.update(changes)
    return message


def rejection(raw: bytes | str) -> EventError:
    with pytest.raises(EventError) as caught:
        parse_event(raw)
    return caught.value


def test_the_valid_message_parses() -> None:
    event = parse_event(json.dumps(process_message()))
    assert isinstance(event, MachineProcessEvent)
    assert event.payload.values[0].value == 181.5


def test_naive_datetime() -> None:
    error = rejection(json.dumps(process_message(ts="2026-11-25T07:52:51")))
    assert (error.kind, error.field) == (ErrorKind.NAIVE_DATETIME, "ts")
    assert "timezone" in error.reason


def test_unknown_type() -> None:
    error = rejection(json.dumps(process_message(type="machine.teleport")))
    assert error.kind is ErrorKind.UNKNOWN_TYPE
    assert "'machine.teleport'" in error.reason


@pytest.mark.parametrize(
    ("remove", "field"),
    [
        (("payload", "machine_id"), "payload.machine_id"),
        (("event_id",), "event_id"),
        (("type",), "type"),
        (("payload",), "payload"),
    ],
)
def test_missing_field_is_named(remove: tuple[str, ...], field: str) -> None:
    message = process_message()
    holder = message
    for part in remove[:-1]:
        holder = holder[part]
    del holder[remove[-1]]
    error = rejection(json.dumps(message))
    assert (error.kind, error.field) == (ErrorKind.MISSING_FIELD, field)


def test_wrong_unit() -> None:
    message = process_message()
    message["payload"]["values"][0]["unit"] = "furlong"
    error = rejection(json.dumps(message))
    assert (error.kind, error.field) == (ErrorKind.WRONG_UNIT, "payload.values.0.unit")
    assert "kN" in error.reason  # the reason lists the units that are allowed


def test_oversized_payload() -> None:
    message = process_message()
    message["payload"]["values"][0]["name"] = "x" * MAX_EVENT_BYTES
    error = rejection(json.dumps(message))
    assert error.kind is ErrorKind.OVERSIZED
    assert str(MAX_EVENT_BYTES) in error.reason
    # The limit is on the bytes, before any parsing: a small limit rejects a valid event.
    with pytest.raises(EventError) as caught:
        parse_event(json.dumps(process_message()), max_bytes=100)
    assert caught.value.kind is ErrorKind.OVERSIZED


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe\x00", b"", b"machine.state H2 RUNNING"])
def test_not_json(raw: bytes) -> None:
    assert rejection(raw).kind is ErrorKind.NOT_JSON


@pytest.mark.parametrize("raw", ["[]", "42", "null"])
def test_json_that_is_not_an_object(raw: str) -> None:
    error = rejection(raw)
    assert (error.kind, error.field) == (ErrorKind.INVALID, "")
    assert "object" in error.reason


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e999"])
def test_non_finite_process_value(literal: str) -> None:
    raw = json.dumps(process_message()).replace("181.5", literal)
    error = rejection(raw)
    assert (error.kind, error.field) == (ErrorKind.INVALID, "payload.values.0.value")
    assert "finite" in error.reason


def test_non_finite_numbers_are_refused_everywhere() -> None:
    # JSON has no inf/NaN: accepting them would make events that serialize to null and no longer parse.
    with pytest.raises(ValidationError, match="finite"):
        BottleneckDetectedPayload(workcenter_id="WC-HEAD", load_hours=float("inf"), capacity_hours=1, horizon_hours=1)
    with pytest.raises(ValidationError, match="finite"):
        NodeBirthPayload(
            node_id="gw1", kind=NodeKind.PLC_GATEWAY, seq_start=0, topic_prefix="t", metrics={"x": float("nan")}
        )


def test_unknown_field_and_future_schema_version() -> None:
    assert rejection(json.dumps(process_message(colour="blue"))).field == "colour"
    error = rejection(json.dumps(process_message(schema_version=2)))
    assert (error.kind, error.field) == (ErrorKind.INVALID, "schema_version")


def test_bad_identifier() -> None:
    message = process_message()
    message["payload"]["machine_id"] = "H2/#"  # an MQTT wildcard may not hide in an id
    error = rejection(json.dumps(message))
    assert (error.kind, error.field) == (ErrorKind.INVALID, "payload.machine_id")


def test_events_are_frozen() -> None:
    event = MachineStateEvent(
        event_id=uuid.uuid4(),
        source="gw1",
        seq=1,
        ts=datetime.now(UTC),
        payload=MachineStatePayload(machine_id="H2", state="RUNNING"),
    )
    with pytest.raises(ValidationError, match="frozen"):
        event.seq = 2  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        event.payload.machine_id = "H3"  # type: ignore[misc]
    assert event.seq == 1 and event.payload.machine_id == "H2"


@pytest.mark.parametrize("offset_hours", [8, -5, 5.5])
def test_aware_timestamps_are_normalized_to_utc(offset_hours: float) -> None:
    zone = timezone(timedelta(hours=offset_hours))
    local = datetime(2026, 11, 25, 15, 52, 51, 250000, tzinfo=zone)
    event = parse_event(json.dumps(process_message(ts=local.isoformat())))
    assert event.ts == local
    assert event.ts.utcoffset() == timedelta(0)
    assert event.ts.replace(tzinfo=None) == local.astimezone(UTC).replace(tzinfo=None)
    # Serialized as UTC too, so every consumer sees the same instant in the same form.
    assert json.loads(event.to_json())["ts"].endswith("Z")
