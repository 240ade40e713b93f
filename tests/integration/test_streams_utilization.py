"""The utilization flow on the real Kafka and PostgreSQL: minutes, late events, roll-ups, rebuild-safe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from bytewax.recovery import RecoveryConfig
from bytewax.testing import TestingSource, run_main
from prometheus_client import REGISTRY

from shopfloor.db.pool import connect
from shopfloor.db.raw import write_raw_events
from shopfloor.events import (
    EventBase,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
    new_event_id,
    utcnow,
)
from shopfloor.kafka.producer import flush, make_producer, produce_event
from shopfloor.plant import parse_plant
from shopfloor.settings import KafkaSettings, PostgresSettings
from shopfloor.topics import KafkaTopic, topic_name
from streams.rollups import db_path, sync_calendar
from streams.utilization.flow import build_flow
from streams.utilization.minutes import Carry
from streams.utilization.planned import PlantCalendar
from streams.utilization.rebuild import carry_before
from streams.utilization.run import ensure_recovery_dir
from streams.utilization.sink import UtilizationSink
from streams.utilization.source import telemetry_source

pytestmark = pytest.mark.integration

PLANT = """\
enterprise_id: acme
site_id: plant1
timezone: Asia/Shanghai
workshops:
  - id: heading
    name: Cold heading
    name_zh: 冷镦车间
    lines:
      - id: HL1
        name: Heading line 1
        machines:
          - {id: H1, name: Heading press H1, workcenter_id: WC-HEAD, ideal_cycle_s: 0.5}
          - {id: H2, name: Heading press H2, workcenter_id: WC-HEAD, ideal_cycle_s: 0.5}
workcenters:
  - {id: WC-HEAD, name: Heading, workshop_id: heading, machine_ids: [H1, H2], calendar_id: CAL}
calendars:
  - id: CAL
    name: Two shifts
    shifts:
      - {name: early, start: 06:00, end: 14:00, weekdays: [Mon, Tue, Wed, Thu, Fri, Sat]}
      - {name: late, start: 14:00, end: 22:00, weekdays: [Mon, Tue, Wed, Thu, Fri, Sat]}
"""
# Tuesday 1 December 2026, 13:58 to 14:03 in Shanghai (UTC+8): across the change from early to late.
T0 = datetime(2026, 12, 1, 5, 58, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def state(seconds: float, s: MachineState) -> MachineStateEvent:
    return MachineStateEvent(
        event_id=new_event_id(),
        source="gw",
        seq=int(seconds),
        ts=at(seconds),
        payload=MachineStatePayload(machine_id="H1", state=s),
    )


def counter(seconds: float, good: int, scrap: int = 0) -> MachineCounterEvent:
    return MachineCounterEvent(
        event_id=new_event_id(),
        source="gw",
        seq=int(seconds),
        ts=at(seconds),
        payload=MachineCounterPayload(machine_id="H1", good=good, scrap=scrap),
    )


def run_flow(kafka: KafkaSettings, pg: PostgresSettings, recovery: Path | None = None) -> None:
    """The flow over what the topic holds (a bounded run: EOF at the end offsets), into the database."""
    source = telemetry_source(kafka, 1000, tail=False)
    flow = build_flow(
        source, UtilizationSink(pg), utcnow, calendar=PlantCalendar(parse_plant(PLANT)), lateness=timedelta(seconds=10)
    )
    if recovery is None:
        run_main(flow)
    else:
        run_main(flow, epoch_interval=timedelta(seconds=1), recovery_config=RecoveryConfig(str(recovery)))


def test_minutes_late_events_and_rollups_on_both_database_paths(
    pg_settings: PostgresSettings, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    late = counter(30, 40)
    events: list[EventBase] = [
        state(0, MachineState.RUNNING),
        counter(0, 0),
        counter(90, 100, 2),
        state(160, MachineState.FAULT),
        state(250, MachineState.RUNNING),
        counter(290, 160, 2),
        late,  # 05:58:30, after the watermark passed 06:02:40: its minute has closed
    ]
    producer = make_producer(kafka_settings)
    for event in events:
        produce_event(producer, event, kafka_settings)
    flush(producer)
    plant = parse_plant(PLANT)
    with connect(pg_settings) as conn:
        sync_calendar(conn, plant, T0 - timedelta(days=1), T0 + timedelta(days=1))

    ensure_recovery_dir(tmp_path / "recovery", 2)
    run_flow(kafka_settings, pg_settings, tmp_path / "recovery")
    # The source's offsets are in the snapshots: the lag exported from them is 0 once all is read.
    topic = topic_name(KafkaTopic.TELEMETRY, kafka_settings.topic_prefix)
    lags = [
        REGISTRY.get_sample_value(
            "shopfloor_streams_consumer_lag", {"processor": "utilization", "topic": topic, "partition": str(p)}
        )
        for p in range(kafka_settings.partitions)
    ]
    assert lags == [0.0] * kafka_settings.partitions
    with connect(pg_settings) as conn:
        minutes = conn.execute(
            "SELECT bucket, running_s, fault_s, good, scrap, planned_s, availability FROM machine_utilization_1m "
            "WHERE machine_id = 'H1' ORDER BY bucket"
        ).fetchall()
        assert [(m[0], m[1], m[2], m[3], m[4]) for m in minutes] == [
            (at(0), 60.0, 0.0, 0, 0),
            (at(60), 60.0, 0.0, 100, 2),
            (at(120), 40.0, 20.0, 0, 0),  # FAULT from 06:00:40 ...
            (at(180), 0.0, 60.0, 0, 0),  # ... all of 06:01, a minute without any event ...
            (at(240), 50.0, 10.0, 60, 0),  # ... to 06:02:10
        ]
        assert all(m[5] == 60.0 for m in minutes)
        assert minutes[2][6] == pytest.approx(40 / 60)
        lates = conn.execute("SELECT event_id, type, key, processor FROM late_event").fetchall()
        assert lates == [(late.event_id, "machine.counter", "H1", "utilization")]

        path = db_path(conn)
        kinds = {k for (k,) in conn.execute("SELECT DISTINCT kind FROM shopfloor_time_table").fetchall()}
        assert kinds == ({"hypertable"} if path == "timescaledb" else {"partitioned"})
        if path == "timescaledb":
            row = conn.execute(
                "SELECT materialized_only FROM timescaledb_information.continuous_aggregates "
                "WHERE view_name = 'machine_utilization_1h' AND view_schema = current_schema()"
            ).fetchone()
            assert row == (False,)  # real-time: the current hour is visible before any refresh
        else:
            row = conn.execute(
                "SELECT count(*) FROM pg_views "
                "WHERE viewname = 'machine_utilization_1h' AND schemaname = current_schema()"
            ).fetchone()
            assert row == (1,)
        hours = conn.execute(
            "SELECT bucket, good, running_s, availability FROM machine_utilization_1h WHERE machine_id = 'H1' "
            "ORDER BY bucket"
        ).fetchall()
        assert [(h[0], h[1], h[2]) for h in hours] == [
            (datetime(2026, 12, 1, 5, tzinfo=UTC), 100, 120.0),
            (datetime(2026, 12, 1, 6, tzinfo=UTC), 60, 90.0),
        ]
        assert hours[1][3] == pytest.approx(90 / 180)
        shifts = conn.execute(
            "SELECT day, shift_name, good, scrap, planned_s FROM machine_utilization_shift WHERE machine_id = 'H1' "
            "ORDER BY start_at"
        ).fetchall()
        day = datetime(2026, 12, 1).date()
        assert shifts == [(day, "early", 100, 2, 120.0), (day, "late", 60, 0, 180.0)]
        days = conn.execute(
            "SELECT day, good, scrap, oee FROM machine_utilization_day WHERE machine_id = 'H1'"
        ).fetchall()
        assert [(d[0], d[1], d[2]) for d in days] == [(day, 160, 2)]
        expected_oee = (210 / 300) * (0.5 * 162 / 210) * (160 / 162)
        assert days[0][3] == pytest.approx(expected_oee)

    # A second run over the same events (a resume replaying, or a rebuild) replaces, never adds.
    run_flow(kafka_settings, pg_settings)
    with connect(pg_settings) as conn:
        again = conn.execute(
            "SELECT bucket, running_s, fault_s, good, scrap FROM machine_utilization_1m WHERE machine_id = 'H1' "
            "ORDER BY bucket"
        ).fetchall()
        assert again == [(m[0], m[1], m[2], m[3], m[4]) for m in minutes]
        assert conn.execute("SELECT count(*) FROM late_event").fetchone() == (1,)


def test_a_rebuild_of_a_range_starts_each_machine_from_the_raw_tables(
    pg_settings: PostgresSettings, kafka_settings: KafkaSettings
) -> None:
    events: list[EventBase] = [
        state(0, MachineState.RUNNING),
        counter(0, 0),
        counter(50, 100),
        state(100, MachineState.SETUP),  # 05:59:40: SETUP through 06:00 and into 06:01
        counter(110, 120),
        counter(190, 150),
        state(200, MachineState.RUNNING),
    ]
    producer = make_producer(kafka_settings)
    for event in events:
        produce_event(producer, event, kafka_settings)
    flush(producer)
    run_flow(kafka_settings, pg_settings)
    query = (
        "SELECT bucket, running_s, setup_s, good FROM machine_utilization_1m WHERE machine_id = 'H1' "
        "AND bucket >= %s ORDER BY bucket"
    )
    since = at(120)
    with connect(pg_settings) as conn:
        full = conn.execute(query, (since,)).fetchall()
        assert full == [(at(120), 0.0, 60.0, 0), (at(180), 40.0, 20.0, 30)]
        conn.execute("DELETE FROM machine_utilization_1m")
        conn.commit()
        write_raw_events(conn, events)  # what the raw sink stores from the same topic
        initial = carry_before(conn, since)
    assert initial == {"H1": Carry(MachineState.SETUP, (120, 0))}
    # The rebuild reads only the range (a bounded source from `since`), starting from that carry.
    in_range = [e.to_json() for e in events if e.ts >= since]
    flow = build_flow(
        TestingSource(in_range, batch_size=100),
        UtilizationSink(pg_settings),
        utcnow,
        calendar=PlantCalendar(parse_plant(PLANT)),
        initial=initial,
        since=since,
    )
    run_main(flow)
    with connect(pg_settings) as conn:
        assert conn.execute(query, (since,)).fetchall() == full
