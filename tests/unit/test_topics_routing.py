"""MQTT topic parsing and the route from an MQTT topic + event to a Kafka topic and key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shopfloor.events import EVENT_CLASSES, EventBase
from shopfloor.topics import (
    KIND_EVENT_TYPES,
    KafkaTopic,
    MqttAddress,
    MqttKind,
    TopicError,
    kafka_topic_for,
    line_prefix,
    mqtt_topic,
    parse_mqtt_topic,
    route,
    route_event,
    subscription,
    topic_name,
)

pytestmark = pytest.mark.unit

LINE = "shopfloor/v1/acme/plant1/heading/HEAD-L1"


def event(event_type: str, payload: dict[str, Any]) -> EventBase:
    return EVENT_CLASSES[event_type].model_validate(
        {"event_id": uuid.uuid4(), "source": "gw1", "seq": 1, "ts": datetime.now(UTC), "payload": payload}
    )


STATE_H2 = event("machine.state", {"machine_id": "H2", "state": "RUNNING"})
COUNTER_H2 = event("machine.counter", {"machine_id": "H2", "good": 10, "scrap": 1})
PROCESS_H2 = event("machine.process", {"machine_id": "H2", "values": [{"name": "force", "value": 1, "unit": "kN"}]})
WO_REPORTED = event("wo.reported", {"work_order_id": "WO-1001", "machine_id": "H2", "good": 500})
BIRTH = event("node.birth", {"node_id": "gw1", "kind": "plc_gateway", "seq_start": 1, "topic_prefix": LINE})
DEATH = event("node.death", {"node_id": "gw1"})
ORDER = event(
    "order.created",
    {
        "order_id": "SO-7",
        "version": 1,
        "customer_id": "CUST-001",
        "lines": [{"line_no": 1, "product_id": "HB-M8x30", "quantity": 1000}],
        "due_date": datetime(2026, 12, 20, tzinfo=UTC),
    },
)


def test_topic_builds_and_parses_back() -> None:
    topic = mqtt_topic("acme", "plant1", "heading", "HEAD-L1", "H2", MqttKind.STATE)
    assert topic == f"{LINE}/H2/state"
    address = parse_mqtt_topic(topic)
    assert address == MqttAddress("acme", "plant1", "heading", "HEAD-L1", "H2", MqttKind.STATE)
    assert address.topic == topic
    assert address.node_prefix == line_prefix("acme", "plant1", "heading", "HEAD-L1") == LINE
    assert subscription("acme", "plant1") == "shopfloor/v1/acme/plant1/#"
    assert subscription() == "shopfloor/v1/+/+/#"


@pytest.mark.parametrize(
    ("mqtt", "evt", "topic", "key"),
    [
        (f"{LINE}/H2/state", STATE_H2, KafkaTopic.TELEMETRY, "H2"),
        (f"{LINE}/H2/counter", COUNTER_H2, KafkaTopic.TELEMETRY, "H2"),
        (f"{LINE}/H2/process", PROCESS_H2, KafkaTopic.TELEMETRY, "H2"),
        # Work-order events are keyed by work order, whatever cell (machine or scan gun) sent them.
        (f"{LINE}/scan-07/wo", WO_REPORTED, KafkaTopic.MES, "WO-1001"),
        (f"{LINE}/gw1/birth", BIRTH, KafkaTopic.TELEMETRY, "gw1"),
        (f"{LINE}/gw1/death", DEATH, KafkaTopic.TELEMETRY, "gw1"),
    ],
)
def test_route_picks_topic_and_key(mqtt: str, evt: EventBase, topic: KafkaTopic, key: str) -> None:
    got = route(mqtt, evt)
    assert (got.topic, got.key) == (topic, key)


@pytest.mark.parametrize(
    ("mqtt", "evt", "message"),
    [
        (f"{LINE}/H2/counter", STATE_H2, "does not belong on a 'counter' topic"),
        (f"{LINE}/H2/state", WO_REPORTED, "does not belong on a 'state' topic"),
        (f"{LINE}/H2/wo", STATE_H2, "does not belong on a 'wo' topic"),
        # Orders never travel over MQTT.
        (f"{LINE}/H2/state", ORDER, "does not belong"),
        (f"{LINE}/gw1/death", BIRTH, "does not belong on a 'death' topic"),
    ],
)
def test_wrong_kind_is_refused(mqtt: str, evt: EventBase, message: str) -> None:
    with pytest.raises(TopicError, match=message):
        route(mqtt, evt)


@pytest.mark.parametrize(
    ("mqtt", "evt"),
    [
        (f"{LINE}/H3/state", STATE_H2),
        (f"{LINE}/H3/counter", COUNTER_H2),
        (f"{LINE}/H3/process", PROCESS_H2),
        (f"{LINE}/gw2/birth", BIRTH),
    ],
)
def test_spoofed_machine_or_node_is_refused(mqtt: str, evt: EventBase) -> None:
    with pytest.raises(TopicError, match="does not match the topic's cell"):
        route(mqtt, evt)


@pytest.mark.parametrize(
    "mqtt",
    [
        "spBv1.0/acme/plant1/heading/HEAD-L1/H2/state",
        "shopfloor/v2/acme/plant1/heading/HEAD-L1/H2/state",
        f"{LINE}/state",
        f"{LINE}/H2/state/extra",
        "shopfloor/v1/acme/plant1//HEAD-L1/H2/state",
        f"{LINE}/H2/temperature",
        f"/{LINE}/H2/state",
        "",
    ],
)
def test_topics_outside_the_namespace_are_refused(mqtt: str) -> None:
    with pytest.raises(TopicError):
        parse_mqtt_topic(mqtt)
    with pytest.raises(TopicError):
        route(mqtt, STATE_H2)


EXPECTED_KAFKA_TOPIC = {
    "machine": KafkaTopic.TELEMETRY,
    "node": KafkaTopic.TELEMETRY,
    "wo": KafkaTopic.MES,
    "order": KafkaTopic.ORDERS,
    "bottleneck": KafkaTopic.BOTTLENECKS,
    "schedule": KafkaTopic.SCHEDULE,
    "alert": KafkaTopic.ALERTS,
}


@pytest.mark.parametrize("event_type", sorted(EVENT_CLASSES))
def test_every_event_type_has_its_kafka_topic(event_type: str) -> None:
    # Releases ride with their order on the orders topic, so the order hub keeps them in order.
    expected = KafkaTopic.ORDERS if event_type == "wo.released" else EXPECTED_KAFKA_TOPIC[event_type.split(".")[0]]
    assert kafka_topic_for(event_type) is expected
    assert KafkaTopic.DEADLETTER is not expected


def test_route_event_keys_orders_by_order_id() -> None:
    got = route_event(ORDER)
    assert (got.topic, got.key) == (KafkaTopic.ORDERS, "SO-7")


def test_unknown_event_type_has_no_topic() -> None:
    with pytest.raises(TopicError):
        kafka_topic_for("teleport.started")


def test_every_mqtt_kind_carries_only_real_event_types() -> None:
    assert set(KIND_EVENT_TYPES) == set(MqttKind)
    for types in KIND_EVENT_TYPES.values():
        assert types <= set(EVENT_CLASSES)


def test_topic_name_with_prefix() -> None:
    assert topic_name(KafkaTopic.MES) == "shopfloor.mes"
    assert topic_name(KafkaTopic.MES, "t42-") == "t42-shopfloor.mes"
    assert {t.value for t in KafkaTopic} == {
        "shopfloor.telemetry",
        "shopfloor.mes",
        "shopfloor.orders",
        "shopfloor.bottlenecks",
        "shopfloor.schedule",
        "shopfloor.alerts",
        "shopfloor.deadletter",
    }
