"""The wire contract is strict: times are ISO-8601 strings with an offset, JSON values are never coerced,
event times too far ahead are refused (future_ts), and process units are checked per quantity against the
plant model. What is refused is refused with a kind, a field and a reason, for the dead-letter topic."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from edge.bridge.routing import Forward, Reject, decide
from edge.sim.config import SimConfig
from edge.sim.model import simulate
from shopfloor.events import (
    ErrorKind,
    EventError,
    MachineProcessEvent,
    MachineStateEvent,
    MachineStatePayload,
    parse_event,
)
from shopfloor.events.boundary import EventValidator, QuantityUnits
from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT, EventSettings
from shopfloor.topics import MqttKind, mqtt_topic

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
DEMO = PROJECT_ROOT / "infra" / "plants" / "demo.yaml"


def message(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "source": "gw-heading-1",
        "seq": 7,
        "ts": "2026-11-25T07:52:51.250000Z",
        "type": "machine.state",
        "payload": {"machine_id": "H2", "state": "RUNNING"},
    }
    base.update(changes)
    return base


def process(machine: str, *values: tuple[str, float, str], ts: str = "2026-11-25T07:52:51Z") -> bytes:
    body = message(
        type="machine.process",
        ts=ts,
        payload={"machine_id": machine, "values": [{"name": n, "value": v, "unit": u} for n, v, u in values]},
    )
    return json.dumps(body).encode()


def rejection(raw: bytes | str, **kwargs: Any) -> EventError:
    with pytest.raises(EventError) as caught:
        parse_event(raw, **kwargs)
    return caught.value


@pytest.mark.parametrize("ts", [0, 1700000000, 1.7e9, "1700000000", "2026-11-25", "2026-13-01T00:00:00Z", "", None])
def test_ts_must_be_an_iso_string(ts: Any) -> None:
    error = rejection(json.dumps(message(ts=ts)))
    assert (error.kind, error.field) == (ErrorKind.NOT_ISO_DATETIME, "ts")
    assert "ISO-8601" in error.reason


@pytest.mark.parametrize(
    ("ts", "utc"),
    [
        ("2026-11-25T07:52:51Z", datetime(2026, 11, 25, 7, 52, 51, tzinfo=UTC)),
        ("2026-11-25T15:52:51.5+08:00", datetime(2026, 11, 25, 7, 52, 51, 500000, tzinfo=UTC)),
        ("2026-11-25 07:52+0100", datetime(2026, 11, 25, 6, 52, tzinfo=UTC)),
    ],
)
def test_iso_strings_with_an_offset_parse(ts: str, utc: datetime) -> None:
    assert parse_event(json.dumps(message(ts=ts))).ts == utc


def test_naive_iso_string_keeps_its_own_kind() -> None:
    assert rejection(json.dumps(message(ts="2026-11-25T07:52:51"))).kind is ErrorKind.NAIVE_DATETIME


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"seq": "7"}, "seq"),
        ({"seq": 7.0}, "seq"),
        ({"historical": "yes"}, "historical"),
        ({"historical": 1}, "historical"),
        ({"schema_version": "1"}, "schema_version"),
        ({"source": 42}, "source"),
        ({"type": "machine.counter", "payload": {"machine_id": "H2", "good": "5", "scrap": 0}}, "payload.good"),
    ],
)
def test_no_type_coercion_on_the_wire(changes: dict[str, Any], field: str) -> None:
    error = rejection(json.dumps(message(**changes)))
    assert (error.kind, error.field) == (ErrorKind.WRONG_TYPE, field)


def test_a_process_value_given_as_a_string_is_refused() -> None:
    raw = process("H2", ("forming_force", 181.5, "kN")).replace(b"181.5", b'"181.5"')
    assert rejection(raw).kind is ErrorKind.WRONG_TYPE


def test_python_construction_is_not_the_wire() -> None:
    # Producers build events from Python values; strings for enums and ISO times stay accepted there.
    event = MachineStateEvent.model_validate(
        {**message(), "payload": MachineStatePayload(machine_id="H2", state="FAULT")}
    )
    assert parse_event(event.to_json()) == event


def test_future_event_times_are_refused_beyond_the_skew() -> None:
    skew = timedelta(minutes=5)
    ahead = (NOW + timedelta(minutes=6)).isoformat()
    error = rejection(json.dumps(message(ts=ahead)), max_future_skew=skew, now=NOW)
    assert (error.kind, error.field) == (ErrorKind.FUTURE_TS, "ts")
    assert "360 s ahead" in error.reason and "300 s" in error.reason
    within = (NOW + timedelta(minutes=4)).isoformat()
    assert parse_event(json.dumps(message(ts=within)), max_future_skew=skew, now=NOW).ts == NOW + timedelta(minutes=4)
    old = (NOW - timedelta(days=30)).isoformat()  # replays are old on purpose
    assert parse_event(json.dumps(message(ts=old)), max_future_skew=skew, now=NOW)
    # Without a skew, parse_event checks the contract only.
    assert parse_event(json.dumps(message(ts=(NOW + timedelta(days=365)).isoformat())))


def test_the_skew_is_a_core_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert EventSettings().max_future_skew == timedelta(minutes=5)
    monkeypatch.setenv("SHOPFLOOR_EVENTS_MAX_FUTURE_SKEW_S", "30")
    validator = EventValidator.from_settings(EventSettings(), clock=lambda: NOW)
    with pytest.raises(EventError) as caught:
        validator.parse(json.dumps(message(ts=(NOW + timedelta(seconds=31)).isoformat())))
    assert caught.value.kind is ErrorKind.FUTURE_TS
    assert validator.parse(json.dumps(message(ts=(NOW + timedelta(seconds=29)).isoformat())))


@pytest.fixture(scope="module")
def demo_validator() -> EventValidator:
    units = QuantityUnits.from_machines(load_plant(DEMO).all_machines())
    return EventValidator(max_future_skew=timedelta(minutes=5), units=units, clock=lambda: NOW)


def test_units_are_checked_per_quantity(demo_validator: EventValidator) -> None:
    ok = demo_validator.parse(process("H2", ("forming_force", 181.5, "kN"), ("oil_temp", 41.0, "degC")))
    assert isinstance(ok, MachineProcessEvent)
    with pytest.raises(EventError) as caught:
        demo_validator.parse(process("H2", ("oil_temp", 41.0, "degC"), ("forming_force", 181.5, "degC")))
    error = caught.value
    assert (error.kind, error.field) == (ErrorKind.WRONG_UNIT, "payload.values.1.unit")
    assert "forming_force" in error.reason and "kN" in error.reason and "degC" in error.reason
    # degC is a known unit, so the contract alone lets it through: the plant model is what refuses it.
    assert parse_event(process("H2", ("forming_force", 181.5, "degC")))


def test_a_quantity_declared_elsewhere_in_the_plant_keeps_its_unit(demo_validator: EventValidator) -> None:
    # D1 (wire drawing) declares no forming force, but the plant says what a forming force is measured in.
    with pytest.raises(EventError) as caught:
        demo_validator.parse(process("D1", ("forming_force", 12.0, "bar")))
    assert caught.value.kind is ErrorKind.WRONG_UNIT
    assert demo_validator.parse(process("D1", ("forming_force", 12.0, "kN")))
    # A quantity the plant does not know is checked only against the known units.
    assert demo_validator.parse(process("D1", ("vibration", 3.2, "mm/s")))


def test_the_settings_load_the_plant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPFLOOR_EVENTS_PLANT_FILE", str(DEMO))
    validator = EventValidator.from_settings(EventSettings())
    assert validator.units is not None and validator.units.by_machine[("H2", "forming_force")].value == "kN"
    assert EventValidator.from_settings(EventSettings(plant_file=None)).units is None


def test_the_bridge_dead_letters_what_the_validator_refuses(demo_validator: EventValidator) -> None:
    topic = mqtt_topic("acme", "plant1", "heading", "line1", "H2", MqttKind.PROCESS)
    good = decide(topic, process("H2", ("forming_force", 181.5, "kN")), demo_validator.parse)
    assert isinstance(good, Forward)
    wrong = decide(topic, process("H2", ("forming_force", 181.5, "degC")), demo_validator.parse)
    assert isinstance(wrong, Reject) and wrong.reason_kind == "wrong_unit"
    future = decide(topic, process("H2", ("forming_force", 1.0, "kN"), ts="2027-01-01T00:00:00Z"), demo_validator.parse)
    assert isinstance(future, Reject) and (future.reason_kind, future.field) == ("future_ts", "ts")


def test_the_simulated_demo_plant_sends_only_valid_events(demo_validator: EventValidator) -> None:
    config = SimConfig.model_validate({"start": "2026-11-23T06:00:00+00:00", "duration": "PT3H"})
    now = [config.start]  # the simulated clock: an event is sent when it happens
    validator = EventValidator(max_future_skew=timedelta(seconds=1), units=demo_validator.units, clock=lambda: now[0])
    kinds = []
    for emission in simulate(load_plant(DEMO), config):
        if emission.event is not None:
            now[0] = emission.at
            kinds.append(validator.parse(emission.event.to_json()).type)
    assert len(kinds) > 1000
    assert {"machine.state", "machine.counter", "machine.process", "wo.started"} <= set(kinds)
