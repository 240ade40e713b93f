"""Every malformed message the simulator injects is rejected by the bridge's checks for its stated reason."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from edge.sim.faults import (
    EXPECTED_REASON,
    TOPIC_REASON,
    MalformedKind,
    cell_of,
    event_type,
    malformed_message,
    mqtt_kind_of,
)
from shopfloor.events import (
    EventBase,
    EventError,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineProcessEvent,
    MachineProcessPayload,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
    ProcessValue,
    Unit,
    WoReportedEvent,
    WoReportedPayload,
    new_event_id,
    parse_event,
)
from shopfloor.topics import TopicError, mqtt_topic, route

pytestmark = pytest.mark.unit

TS = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)


def _envelope(seq: int) -> dict[str, object]:
    return {"event_id": new_event_id(), "source": "sim-cut-L1", "seq": seq, "ts": TS}


BASE_EVENTS: list[EventBase] = [
    MachineStateEvent(**_envelope(1), payload=MachineStatePayload(machine_id="H2", state=MachineState.RUNNING)),
    MachineCounterEvent(**_envelope(2), payload=MachineCounterPayload(machine_id="H2", good=1200, scrap=3)),
    MachineProcessEvent(
        **_envelope(3),
        payload=MachineProcessPayload(
            machine_id="F1", values=[ProcessValue(name="temperature", value=860.0, unit=Unit.CELSIUS)]
        ),
    ),
    WoReportedEvent(**_envelope(4), payload=WoReportedPayload(work_order_id="WO-1", machine_id="H2", good=50)),
]


def _rejection(message_topic: str, payload: bytes) -> str | None:
    """The reason kind the bridge would dead-letter this message for, or None if it would pass."""
    try:
        event = parse_event(payload)
    except EventError as exc:
        return exc.kind.value
    try:
        route(message_topic, event)
    except TopicError:
        return TOPIC_REASON
    return None


@pytest.mark.parametrize("base", BASE_EVENTS, ids=event_type)
@pytest.mark.parametrize("kind", list(MalformedKind))
def test_each_malformed_kind_is_rejected_for_its_expected_reason(kind: MalformedKind, base: EventBase) -> None:
    for seed in range(5):
        message = malformed_message(kind, base, random.Random(seed), peers=["H1", "H2", "H3"])
        topic = mqtt_topic("acme", "plant1", "heading", "L1", message.cell, message.mqtt_kind)
        assert message.expected_reason == EXPECTED_REASON[kind]
        assert _rejection(topic, message.payload) == message.expected_reason, (kind, seed, message.payload[:200])


@pytest.mark.parametrize("base", BASE_EVENTS, ids=event_type)
def test_the_unspoiled_base_event_passes_the_same_checks(base: EventBase) -> None:
    topic = mqtt_topic("acme", "plant1", "heading", "L1", cell_of(base), mqtt_kind_of(event_type(base)))
    assert _rejection(topic, base.to_json()) is None


def test_every_kind_has_an_expected_reason() -> None:
    assert set(EXPECTED_REASON) == set(MalformedKind)


def test_same_seed_gives_the_same_message() -> None:
    base = BASE_EVENTS[1]
    for kind in MalformedKind:
        first = malformed_message(kind, base, random.Random(7))
        again = malformed_message(kind, base, random.Random(7))
        assert first == again


def test_spoofed_machine_names_a_peer_but_is_addressed_to_the_real_cell() -> None:
    message = malformed_message(MalformedKind.SPOOFED_MACHINE, BASE_EVENTS[0], random.Random(1), peers=["H1", "H2"])
    assert message.cell == "H2"
    assert b'"machine_id":"H1"' in message.payload
