"""The bridge's pure decisions: routing of valid events and the dead letters of invalid ones."""

from __future__ import annotations

import base64
import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from edge.bridge.config import BridgeConfig
from edge.bridge.routing import (
    HEADER_EVENT_ID,
    HEADER_SOURCE,
    HEADER_TYPE,
    MAX_ORIGINAL_BYTES,
    TOPIC_REASON,
    Forward,
    Reject,
    dead_letter,
    decide,
)
from edge.sim.faults import EXPECTED_REASON, MalformedKind, malformed_message
from shopfloor.deadletter import DeadLetter
from shopfloor.events import (
    MachineCounterEvent,
    MachineCounterPayload,
    MachineStateEvent,
    MachineStatePayload,
    WoReportedEvent,
    WoReportedPayload,
)
from shopfloor.topics import KafkaTopic, MqttKind, mqtt_topic

pytestmark = pytest.mark.unit

TS = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


def _topic(cell: str, kind: MqttKind) -> str:
    return mqtt_topic("acme", "plant1", "heading", "line1", cell, kind)


def _state(machine: str = "H2", historical: bool = False) -> MachineStateEvent:
    return MachineStateEvent(
        event_id=uuid.uuid4(),
        source="gw-1",
        seq=7,
        ts=TS,
        historical=historical,
        payload=MachineStatePayload(machine_id=machine, state="RUNNING"),
    )


def test_machine_event_goes_to_telemetry_keyed_by_machine_with_headers() -> None:
    event = _state()
    decision = decide(_topic("H2", MqttKind.STATE), event.to_json())
    assert decision == Forward(
        KafkaTopic.TELEMETRY,
        "H2",
        [(HEADER_TYPE, "machine.state"), (HEADER_SOURCE, "gw-1"), (HEADER_EVENT_ID, str(event.event_id))],
        TS.timestamp(),
    )


def test_work_order_event_goes_to_mes_keyed_by_work_order() -> None:
    event = WoReportedEvent(
        event_id=uuid.uuid4(),
        source="scan-3",
        seq=1,
        ts=TS + timedelta(hours=1),
        payload=WoReportedPayload(work_order_id="WO-1001", machine_id="H2", good=40),
    )
    decision = decide(_topic("H2", MqttKind.WO), event.to_json())
    assert isinstance(decision, Forward)
    assert (decision.topic, decision.key) == (KafkaTopic.MES, "WO-1001")
    assert decision.event_ts == (TS + timedelta(hours=1)).timestamp()


def test_replayed_event_has_no_publish_latency() -> None:
    decision = decide(_topic("H2", MqttKind.STATE), _state(historical=True).to_json())
    assert isinstance(decision, Forward)
    assert decision.event_ts is None


def test_event_on_the_wrong_kind_is_a_topic_reject() -> None:
    counter = MachineCounterEvent(
        event_id=uuid.uuid4(),
        source="gw-1",
        seq=1,
        ts=TS,
        payload=MachineCounterPayload(machine_id="H2", good=1, scrap=0),
    )
    decision = decide(_topic("H2", MqttKind.STATE), counter.to_json())
    assert isinstance(decision, Reject)
    assert decision.reason_kind == TOPIC_REASON
    assert "machine.counter" in decision.reason


def test_spoofed_machine_is_a_topic_reject() -> None:
    decision = decide(_topic("H3", MqttKind.STATE), _state("H2").to_json())
    assert isinstance(decision, Reject)
    assert decision.reason_kind == TOPIC_REASON
    assert "'H3'" in decision.reason


def test_topic_outside_the_namespace_is_a_topic_reject() -> None:
    decision = decide("factory/H2/state", _state().to_json())
    assert isinstance(decision, Reject)
    assert decision.reason_kind == TOPIC_REASON


@pytest.mark.parametrize("kind", list(MalformedKind))
def test_every_simulator_fault_is_rejected_with_its_expected_reason(kind: MalformedKind) -> None:
    message = malformed_message(kind, _state(), random.Random(kind.value))
    decision = decide(_topic(message.cell, message.mqtt_kind), message.payload)
    assert isinstance(decision, Reject)
    assert decision.reason_kind == EXPECTED_REASON[kind]


def test_dead_letter_keeps_original_bytes_and_reason() -> None:
    raw = b"\xff\x00 not an event"
    topic = _topic("H2", MqttKind.STATE)
    reject = decide(topic, raw)
    assert isinstance(reject, Reject)
    record = dead_letter(topic, raw, reject, "bridge-7", TS)
    assert record == DeadLetter(
        original=raw,
        source_topic=topic,
        reason_kind="not_json",
        field=reject.field,
        reason=reject.reason,
        ts=TS,
        rejected_by="bridge-7",
    )
    wire = json.loads(record.to_json())
    # pydantic writes URL-safe base64: what a non-pydantic consumer must decode.
    assert base64.urlsafe_b64decode(wire["original"]) == raw
    assert DeadLetter.model_validate_json(record.to_json()) == record


def test_dead_letter_of_a_huge_message_is_truncated_and_says_so() -> None:
    raw = b"A" * (MAX_ORIGINAL_BYTES * 3)
    record = dead_letter("t", raw, Reject("oversized", "", "too big"), "b", TS)
    assert record.original == raw[:MAX_ORIGINAL_BYTES]
    assert "truncated" in record.reason


def test_subscription_with_and_without_share_group() -> None:
    plain = BridgeConfig(bridge_id="b1", topic_filter="heading/#")
    shared = BridgeConfig(bridge_id="b1", share_group="heading")
    assert plain.subscription("acme", "plant1") == "shopfloor/v1/acme/plant1/heading/#"
    assert shared.subscription("acme", "plant1") == "$share/heading/shopfloor/v1/acme/plant1/#"
    assert plain.client_id == "shopfloor-bridge-b1"
