"""Plain-PostgreSQL time tables: daily partitions ahead, a default partition for the rest, retention."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from shopfloor.db.partitions import drop_expired_partitions, ensure_partitions, existing_partitions, partition_name
from shopfloor.db.pool import Connection
from shopfloor.settings import PostgresSettings

pytestmark = pytest.mark.integration


def insert_state(conn: Connection, ts: datetime, machine_id: str = "H2") -> str:
    """Insert one machine_state row; returns the partition that holds it."""
    row = conn.execute(
        "INSERT INTO machine_state (event_id, ts, machine_id, state, source, seq) "
        "VALUES (%s, %s, %s, 'RUNNING', 'gw-1', 1) RETURNING tableoid::regclass::text",
        (uuid.uuid4(), ts, machine_id),
    ).fetchone()
    conn.commit()
    assert row is not None
    return str(row[0])


def test_migrate_creates_partitions_ahead_and_tomorrows_rows_land_in_tomorrows(
    db_conn: Connection, pg_settings: PostgresSettings
) -> None:
    today = datetime.now(UTC).date()
    have = existing_partitions(db_conn, "machine_state")
    for offset in range(pg_settings.partitions_ahead_days + 1):
        assert partition_name("machine_state", today + timedelta(days=offset)) in have
    assert "machine_state_default" in have

    tomorrow_noon = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=12)
    assert insert_state(db_conn, tomorrow_noon) == partition_name("machine_state", today + timedelta(days=1))
    day_after = tomorrow_noon + timedelta(days=1)
    assert insert_state(db_conn, day_after) == partition_name("machine_state", today + timedelta(days=2))


def test_row_far_in_the_future_lands_in_the_default_partition(db_conn: Connection) -> None:
    assert insert_state(db_conn, datetime(2100, 1, 1, tzinfo=UTC)) == "machine_state_default"
    assert insert_state(db_conn, datetime(1999, 12, 31, 23, 59, tzinfo=UTC)) == "machine_state_default"


def test_creating_a_day_moves_its_rows_out_of_the_default_partition(db_conn: Connection) -> None:
    far_day = date(2100, 1, 1)
    event_ts = datetime(2100, 1, 1, 6, tzinfo=UTC)
    insert_state(db_conn, event_ts)
    insert_state(db_conn, datetime(2100, 1, 2, 6, tzinfo=UTC))  # the next day: stays in the default

    created = ensure_partitions(db_conn, 0, today=far_day)
    db_conn.commit()

    assert partition_name("machine_state", far_day) in created
    rows = db_conn.execute(
        "SELECT tableoid::regclass::text, ts FROM machine_state WHERE ts >= '2100-01-01' ORDER BY ts"
    ).fetchall()
    assert rows == [
        (partition_name("machine_state", far_day), event_ts),
        ("machine_state_default", datetime(2100, 1, 2, 6, tzinfo=UTC)),
    ]


def test_ensure_partitions_again_creates_nothing(db_conn: Connection, pg_settings: PostgresSettings) -> None:
    assert ensure_partitions(db_conn, pg_settings.partitions_ahead_days) == []


def test_retention_drops_old_raw_partitions_and_keeps_aggregates(db_conn: Connection) -> None:
    old_day = date(2020, 1, 1)
    ensure_partitions(db_conn, 0, today=old_day)
    insert_state(db_conn, datetime(2020, 1, 1, 8, tzinfo=UTC))
    db_conn.commit()

    dropped = drop_expired_partitions(db_conn, retention_days=90)
    db_conn.commit()

    assert partition_name("machine_state", old_day) in dropped
    assert partition_name("machine_utilization_1m", old_day) not in dropped
    assert partition_name("machine_utilization_1m", old_day) in existing_partitions(db_conn, "machine_utilization_1m")
    assert db_conn.execute("SELECT count(*) FROM machine_state WHERE ts < '2021-01-01'").fetchone() == (0,)
    # Today's partition is well inside the retention.
    today_part = partition_name("machine_state", datetime.now(UTC).date())
    assert today_part in existing_partitions(db_conn, "machine_state")


def test_hourly_rollup_reads_the_minute_aggregates(db_conn: Connection) -> None:
    bucket = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    # Ratios of the roll-up come from sums (migration 021): every minute planned, at the ideal pace.
    for minute, (running, good) in enumerate([(60.0, 10), (30.0, 4)]):
        db_conn.execute(
            "INSERT INTO machine_utilization_1m (machine_id, bucket, running_s, idle_s, good, oee, planned_s, "
            "run_planned_s, ideal_s) VALUES ('H2', %s, %s, %s, %s, %s, 60, %s, %s)",
            (bucket + timedelta(minutes=minute), running, 60 - running, good, running / 60, running, running),
        )
    db_conn.commit()
    row = db_conn.execute(
        "SELECT bucket, running_s, idle_s, good, oee FROM machine_utilization_1h WHERE machine_id = 'H2'"
    ).fetchone()
    assert row == (bucket, 90.0, 30.0, 14, 0.75)
