"""Re-publish on the real Kafka and Mosquitto: every record of the range, same bytes, order per key kept."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from confluent_kafka.cimpl import NewTopic
from typer.testing import CliRunner

from shopfloor.events import EventBase, NodeBirthEvent, NodeBirthPayload, NodeKind, new_event_id, parse_event
from shopfloor.kafka.admin import make_admin
from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT, KafkaSettings, MqttSettings
from shopfloor.topics import KafkaTopic, parse_mqtt_topic, topic_name
from streams.replay.cli import app
from streams.replay.ranges import TimeRange
from streams.replay.reader import Record, ReplayReader
from streams.replay.republish import KafkaTarget, MqttTarget, republish
from tests.replay_support import T0, MqttCollector, machine_events, produce_at

pytestmark = pytest.mark.integration

DEMO = PROJECT_ROOT / "infra" / "plants" / "demo.yaml"
MACHINES = ["H1", "H2", "T1", "C1", "D1"]


def by_key(values: list[tuple[str, bytes]]) -> dict[str, list[bytes]]:
    grouped: dict[str, list[bytes]] = defaultdict(list)
    for key, value in values:
        grouped[key].append(value)
    return dict(grouped)


@pytest.fixture
def copy_topic(kafka_settings: KafkaSettings) -> Iterator[str]:
    name = f"{kafka_settings.topic_prefix}replay-copy"
    admin = make_admin(kafka_settings)
    for future in admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)]).values():
        future.result(timeout=60)
    try:
        yield name
    finally:
        for future in admin.delete_topics([name]).values():
            future.result(timeout=60)


def read_all(settings: KafkaSettings, topic: str) -> list[Record]:
    with ReplayReader(settings) as reader:
        plan = reader.plan(topic, TimeRange(T0 - timedelta(days=365 * 30)))
        return [record for batch in reader.read(plan) for record in batch]


def recorded(kafka_settings: KafkaSettings) -> list[EventBase]:
    """Machine events 0.1 s apart in record time, plus a node birth that MQTT re-publish must skip."""
    events = machine_events(MACHINES, 8, T0, timedelta(seconds=0.1))
    birth = NodeBirthEvent(
        event_id=new_event_id(),
        source="gw-1",
        seq=999,
        ts=T0 + timedelta(seconds=0.05),
        payload=NodeBirthPayload(node_id="gw-1", kind=NodeKind.PLC_GATEWAY, seq_start=0, topic_prefix="x/y"),
    )
    produce_at(kafka_settings, [*events, birth])
    return events


def test_republish_to_another_topic_keeps_every_record_and_order_per_key(
    kafka_settings: KafkaSettings, copy_topic: str
) -> None:
    recorded(kafka_settings)
    telemetry = topic_name(KafkaTopic.TELEMETRY, kafka_settings.topic_prefix)
    with ReplayReader(kafka_settings) as reader:
        plan = reader.plan(telemetry, TimeRange(T0, T0 + timedelta(minutes=1)))
        summary = republish(reader.read_partitions(plan), KafkaTarget(kafka_settings, copy_topic), 4.0)
    source = read_all(kafka_settings, telemetry)
    copied = read_all(kafka_settings, copy_topic)
    assert summary.sent == len(source) == plan.count
    assert len(copied) == len(source)
    # Per key, the same values in the same order (a key lives in one partition of either topic).
    assert by_key([(str(r.key), r.value) for r in copied]) == by_key([(str(r.key), r.value) for r in source])
    assert summary.span_s == pytest.approx(0.7, abs=0.01)


def test_republish_over_mqtt_goes_through_edge_agents_to_each_machines_topic(
    kafka_settings: KafkaSettings, mqtt_settings: MqttSettings, tmp_path: Path
) -> None:
    events = recorded(kafka_settings)
    plant = load_plant(DEMO)
    collector = MqttCollector(mqtt_settings)
    try:
        telemetry = topic_name(KafkaTopic.TELEMETRY, kafka_settings.topic_prefix)
        with ReplayReader(kafka_settings) as reader:
            plan = reader.plan(telemetry, TimeRange(T0))
            target = MqttTarget(plant, mqtt_settings, tmp_path / "outbox")
            summary = republish(reader.read_partitions(plan), target, 10.0)
        assert summary.sent == len(events)
        assert summary.skipped == {"node lifecycle": 1}
        lifecycle = ("birth", "death")
        got = collector.collect(len(events), timeout=30, keep=lambda t: parse_mqtt_topic(t).kind not in lifecycle)
    finally:
        collector.close()
    received = [(topic, parse_event(payload)) for topic, payload in got]
    assert sorted(str(e.event_id) for _, e in received) == sorted(str(e.event_id) for e in events)
    for topic, event in received:
        where = plant.location(event.key)
        address = parse_mqtt_topic(topic)
        assert (address.enterprise, address.area, address.line, address.cell) == (
            mqtt_settings.enterprise,
            where.workshop_id,
            where.line_id,
            event.key,
        )
    order_sent = by_key([(e.key, e.event_id.bytes) for e in events])
    assert by_key([(e.key, e.event_id.bytes) for _, e in received]) == order_sent


def test_cli_republish_dry_run_sends_nothing(kafka_settings: KafkaSettings, copy_topic: str) -> None:
    recorded(kafka_settings)
    env = {"SHOPFLOOR_KAFKA_TOPIC_PREFIX": kafka_settings.topic_prefix, "COLUMNS": "200"}
    args = ["republish", "--start", T0.isoformat(), "--to-topic", copy_topic, "--speed", "0.5"]
    dry = CliRunner().invoke(app, [*args, "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    total = len(MACHINES) * 8 + 1
    assert f"would send {total} records to Kafka topic {copy_topic} in about 1.4 s at x0.5" in dry.output
    with ReplayReader(kafka_settings) as reader:
        assert reader.watermarks(copy_topic, 0).high + reader.watermarks(copy_topic, 1).high == 0
    real = CliRunner().invoke(app, [*args, "--speed", "max"], env=env)
    assert real.exit_code == 0, real.output
    assert f"sent {len(MACHINES) * 8 + 1} records" in real.output
    assert len(read_all(kafka_settings, copy_topic)) == len(MACHINES) * 8 + 1


def test_cli_republish_needs_one_target() -> None:
    result = CliRunner().invoke(app, ["republish", "--start", T0.isoformat()])
    assert result.exit_code == 2
    assert "exactly one of --to-topic NAME or --mqtt" in result.output
