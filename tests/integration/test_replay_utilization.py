"""Rebuild of utilization minutes on the real Kafka and PostgreSQL, through the utilization dataflow."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from shopfloor.db.pool import Connection
from shopfloor.events import (
    EventBase,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
    new_event_id,
)
from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT, KafkaSettings, PostgresSettings
from shopfloor.topics import KafkaTopic, topic_name
from streams.replay.ranges import TimeRange
from streams.replay.reader import ReplayReader
from streams.replay.rebuild import rebuild
from streams.replay.utilization import UtilizationStage
from tests.replay_support import T0, produce_at

pytestmark = pytest.mark.integration

DEMO = load_plant(PROJECT_ROOT / "infra" / "plants" / "demo.yaml")
HOUR = timedelta(hours=1)
S = timedelta(seconds=1)


def state(machine: str, ts: datetime, value: MachineState) -> EventBase:
    payload = MachineStatePayload(machine_id=machine, state=value)
    return MachineStateEvent(event_id=new_event_id(), source="gw", seq=0, ts=ts, payload=payload)


def counter(machine: str, ts: datetime, good: int, scrap: int) -> EventBase:
    payload = MachineCounterPayload(machine_id=machine, good=good, scrap=scrap)
    return MachineCounterEvent(event_id=new_event_id(), source="gw", seq=0, ts=ts, payload=payload)


def minutes(conn: Connection, machine: str) -> dict[str, tuple[float, float, float, int, int]]:
    conn.rollback()
    rows = conn.execute(
        "SELECT to_char(bucket AT TIME ZONE 'UTC', 'HH24:MI'), running_s, fault_s, idle_s, good, scrap"
        " FROM machine_utilization_1m WHERE machine_id = %s ORDER BY bucket",
        (machine,),
    ).fetchall()
    conn.rollback()
    return {row[0]: (row[1], row[2], row[3], row[4], row[5]) for row in rows}


def run_rebuild(kafka: KafkaSettings, pg: PostgresSettings, conn: Connection, span: TimeRange, tmp: Path) -> int:
    stage = UtilizationStage(pg, DEMO, tmp)
    with ReplayReader(kafka) as reader:
        plan = reader.plan(topic_name(KafkaTopic.TELEMETRY, kafka.topic_prefix), span)
        summary = rebuild(reader, [plan], conn, [stage])
    return summary.aggregate_rows[stage.name]


def test_a_range_rebuilds_its_minutes_with_the_state_carried_in_from_before_it(
    kafka_settings: KafkaSettings, pg_settings: PostgresSettings, db_conn: Connection, tmp_path: Path
) -> None:
    m0 = T0 + timedelta(minutes=10)  # 06:10 UTC
    # Recorded in the first hour: H1 running since 06:10:00 with its counter at 100/1.
    produce_at(kafka_settings, [state("H1", m0, MachineState.RUNNING), counter("H1", m0, 100, 1)], T0)
    # Recorded in the second hour: a FAULT from 06:10:40 to 06:12:10 (20 s, 60 s, 10 s), 30 more good and
    # 2 scrap counted at 06:10:30, the counter unchanged at 06:12:30.
    second = [
        counter("H1", m0 + 30 * S, 130, 3),
        state("H1", m0 + 40 * S, MachineState.FAULT),
        state("H1", m0 + 130 * S, MachineState.RUNNING),
        counter("H1", m0 + 150 * S, 130, 3),
    ]
    produce_at(kafka_settings, second, T0 + HOUR)

    # Rebuilding the first hour alone: nothing later is known yet, H1's one minute is all running.
    written = run_rebuild(kafka_settings, pg_settings, db_conn, TimeRange(T0, T0 + HOUR), tmp_path / "a")
    assert written == 1
    assert minutes(db_conn, "H1") == {"06:10": (60.0, 0.0, 0.0, 0, 0)}

    # The second hour: its minutes start from the state and counter carried in from the first hour.
    written = run_rebuild(kafka_settings, pg_settings, db_conn, TimeRange(T0 + HOUR), tmp_path / "b")
    expected = {
        "06:10": (40.0, 20.0, 0.0, 30, 2),
        "06:11": (0.0, 60.0, 0.0, 0, 0),
        "06:12": (50.0, 10.0, 0.0, 0, 0),
    }
    assert minutes(db_conn, "H1") == expected
    assert written == 3

    # Again, and over both hours: the same values (replacing upserts, no bucket doubled).
    run_rebuild(kafka_settings, pg_settings, db_conn, TimeRange(T0 + HOUR), tmp_path / "c")
    assert minutes(db_conn, "H1") == expected
    run_rebuild(kafka_settings, pg_settings, db_conn, TimeRange(T0), tmp_path / "d")
    assert minutes(db_conn, "H1") == expected


def test_a_state_carried_out_of_the_range_is_rebuilt_up_to_the_next_change(
    kafka_settings: KafkaSettings, pg_settings: PostgresSettings, db_conn: Connection, tmp_path: Path
) -> None:
    m0 = T0 + timedelta(minutes=20)
    # Recorded late (second hour): the FAULT that began at 06:20:30. Recorded earlier: running before it
    # and running again from 06:23:15.
    produce_at(
        kafka_settings, [state("T1", m0, MachineState.RUNNING), state("T1", m0 + 195 * S, MachineState.RUNNING)], T0
    )
    produce_at(kafka_settings, [state("T1", m0 + 30 * S, MachineState.FAULT)], T0 + HOUR)
    run_rebuild(kafka_settings, pg_settings, db_conn, TimeRange(T0, T0 + HOUR), tmp_path / "a")
    assert minutes(db_conn, "T1") == {f"06:2{i}": (60.0, 0.0, 0.0, 0, 0) for i in range(4)}
    # The late FAULT's range rewrites every minute up to the next state change, none beyond.
    assert run_rebuild(kafka_settings, pg_settings, db_conn, TimeRange(T0 + HOUR), tmp_path / "b") == 4
    assert minutes(db_conn, "T1") == {
        "06:20": (30.0, 30.0, 0.0, 0, 0),
        "06:21": (0.0, 60.0, 0.0, 0, 0),
        "06:22": (0.0, 60.0, 0.0, 0, 0),
        "06:23": (45.0, 15.0, 0.0, 0, 0),
    }


def test_rebuild_sets_the_current_state_by_event_time(
    kafka_settings: KafkaSettings, pg_settings: PostgresSettings, db_conn: Connection, tmp_path: Path
) -> None:
    m0 = T0 + timedelta(minutes=30)
    produce_at(kafka_settings, [state("C1", m0 + 60 * S, MachineState.IDLE)], T0)
    # An older FAULT recorded later must not move C1 back.
    produce_at(kafka_settings, [state("C1", m0, MachineState.FAULT)], T0 + HOUR)
    run_rebuild(kafka_settings, pg_settings, db_conn, TimeRange(T0), tmp_path / "a")
    row = db_conn.execute("SELECT state, since FROM machine_current_state WHERE machine_id = 'C1'").fetchone()
    db_conn.rollback()
    assert row == ("IDLE", m0 + 60 * S)
