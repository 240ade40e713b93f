"""Rebuild on the real Kafka and PostgreSQL: the range's offsets exactly, idempotent rows, retention errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from confluent_kafka import TopicPartition
from typer.testing import CliRunner

from shopfloor.db.pool import Connection
from shopfloor.kafka.admin import make_admin
from shopfloor.settings import KafkaSettings, PostgresSettings
from shopfloor.topics import KafkaTopic, topic_name
from streams.replay.cli import app
from streams.replay.ranges import RetentionError, TimeRange
from streams.replay.reader import ReplayReader
from streams.replay.rebuild import rebuild
from tests.replay_support import T0, machine_events, produce_at

pytestmark = pytest.mark.integration

MACHINES = ["H1", "H2", "T1", "C1"]
HOUR = timedelta(hours=1)


def raw_ids(conn: Connection) -> set[str]:
    rows = conn.execute("SELECT event_id::text FROM machine_state UNION ALL SELECT event_id::text FROM machine_counter")
    return {row[0] for row in rows.fetchall()}


def delete_before(settings: KafkaSettings, offsets: list[TopicPartition]) -> None:
    """Delete records before the offsets, as retention would (the admin client must outlive its futures)."""
    admin = make_admin(settings)
    for future in admin.delete_records(offsets, request_timeout=30).values():
        future.result(timeout=60)


@pytest.fixture
def three_hours(kafka_settings: KafkaSettings) -> dict[str, set[str]]:
    """Events recorded at T0, T0+1h and T0+2h (record timestamps), by hour."""
    hours: dict[str, set[str]] = {}
    for n, name in enumerate(("before", "inside", "after")):
        events = machine_events(MACHINES, 6, T0 + n * HOUR, timedelta(seconds=5))
        produce_at(kafka_settings, events, record_time=T0 + n * HOUR)
        hours[name] = {str(e.event_id) for e in events}
    return hours


def test_rebuild_reads_exactly_the_range_and_twice_changes_nothing(
    kafka_settings: KafkaSettings, db_conn: Connection, three_hours: dict[str, set[str]]
) -> None:
    telemetry = topic_name(KafkaTopic.TELEMETRY, kafka_settings.topic_prefix)
    span = TimeRange(T0 + HOUR, T0 + 2 * HOUR)
    with ReplayReader(kafka_settings) as reader:
        plan = reader.plan(telemetry, span)
        assert plan.count == len(three_hours["inside"])
        assert plan.oldest == T0
        first = rebuild(reader, [plan], db_conn)
        assert first.records == len(three_hours["inside"])
        assert first.raw_rows == len(three_hours["inside"])
        assert raw_ids(db_conn) == three_hours["inside"]
        # A second rebuild (a fresh plan) writes no new row and leaves the same rows.
        second = rebuild(reader, [reader.plan(telemetry, span)], db_conn)
        assert second.records == len(three_hours["inside"])
        assert second.raw_rows == 0
        assert raw_ids(db_conn) == three_hours["inside"]


def test_open_end_stops_at_the_end_offsets_read_before_starting(
    kafka_settings: KafkaSettings, db_conn: Connection, three_hours: dict[str, set[str]]
) -> None:
    telemetry = topic_name(KafkaTopic.TELEMETRY, kafka_settings.topic_prefix)
    with ReplayReader(kafka_settings) as reader:
        plan = reader.plan(telemetry, TimeRange(T0 + HOUR))
        # Written after the plan: not part of this replay, which still ends.
        produce_at(kafka_settings, machine_events(MACHINES, 2, T0 + 3 * HOUR, timedelta(seconds=1)))
        summary = rebuild(reader, [plan], db_conn)
    assert summary.records == len(three_hours["inside"]) + len(three_hours["after"])
    assert raw_ids(db_conn) == three_hours["inside"] | three_hours["after"]


def test_nothing_at_or_after_the_start_plans_nothing(
    kafka_settings: KafkaSettings, three_hours: dict[str, set[str]]
) -> None:
    telemetry = topic_name(KafkaTopic.TELEMETRY, kafka_settings.topic_prefix)
    with ReplayReader(kafka_settings) as reader:
        plan = reader.plan(telemetry, TimeRange(T0 + 5 * HOUR))
        assert plan.count == 0
        assert all(p.start == p.end for p in plan.partitions)


def test_start_before_retention_names_the_oldest_time_available(
    kafka_settings: KafkaSettings, three_hours: dict[str, set[str]]
) -> None:
    telemetry = topic_name(KafkaTopic.TELEMETRY, kafka_settings.topic_prefix)
    with ReplayReader(kafka_settings) as reader:
        # Delete the first hour, as retention would: every partition now starts at the second hour.
        inside = reader.plan(telemetry, TimeRange(T0 + HOUR))
        delete_before(kafka_settings, [TopicPartition(telemetry, p.partition, p.start) for p in inside.partitions])
        with pytest.raises(RetentionError) as info:
            reader.plan(telemetry, TimeRange(T0, T0 + 2 * HOUR))
        assert info.value.oldest == T0 + HOUR
        # From the oldest time available on, the plan is fine.
        assert reader.plan(telemetry, TimeRange(T0 + HOUR, T0 + 2 * HOUR)).count == len(three_hours["inside"])


def test_cli_dry_run_says_what_it_would_do_and_writes_nothing(
    kafka_settings: KafkaSettings, pg_settings: PostgresSettings, db_conn: Connection, three_hours: dict[str, set[str]]
) -> None:
    env = {
        "SHOPFLOOR_KAFKA_TOPIC_PREFIX": kafka_settings.topic_prefix,
        "SHOPFLOOR_PG_DB_SCHEMA": pg_settings.db_schema,
        "COLUMNS": "200",
    }
    start, end = (T0 + HOUR).isoformat(), (T0 + 2 * HOUR).isoformat()
    args = ["rebuild", "--start", start, "--end", end]
    dry = CliRunner().invoke(app, [*args, "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert f"would read {len(three_hours['inside'])} records" in dry.output
    assert raw_ids(db_conn) == set()
    real = CliRunner().invoke(app, args, env=env)
    assert real.exit_code == 0, real.output
    assert f"read {len(three_hours['inside'])} records" in real.output
    assert f"raw rows written (new): {len(three_hours['inside'])}" in real.output
    db_conn.rollback()
    assert raw_ids(db_conn) == three_hours["inside"]


def test_cli_start_before_retention_fails_with_the_oldest_time(
    kafka_settings: KafkaSettings, three_hours: dict[str, set[str]]
) -> None:
    telemetry = topic_name(KafkaTopic.TELEMETRY, kafka_settings.topic_prefix)
    with ReplayReader(kafka_settings) as reader:
        inside = reader.plan(telemetry, TimeRange(T0 + HOUR))
    delete_before(kafka_settings, [TopicPartition(telemetry, p.partition, p.start) for p in inside.partitions])
    env = {"SHOPFLOOR_KAFKA_TOPIC_PREFIX": kafka_settings.topic_prefix, "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["rebuild", "--start", T0.isoformat(), "--dry-run"], env=env)
    assert result.exit_code == 2, result.output
    assert "oldest time available is 2026-03-02T07:00:00+00:00" in result.output
