"""The bulk writer is idempotent: the same batch twice leaves one copy; aggregates are overwritten."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from shopfloor.db.bulk import BulkTable, write_batch
from shopfloor.db.pool import Connection

pytestmark = pytest.mark.integration

MACHINE_STATE = BulkTable(
    "machine_state", ("event_id", "ts", "machine_id", "state", "source", "seq"), key=("event_id", "ts")
)
UTILIZATION = BulkTable(
    "machine_utilization_1m",
    ("machine_id", "bucket", "running_s", "good", "oee"),
    key=("machine_id", "bucket"),
    update=("running_s", "good", "oee"),
)


def state_rows(count: int) -> list[tuple[object, ...]]:
    now = datetime.now(UTC)
    # Spread over today's partition, a day ahead and the default partition (far future).
    times = [now, now + timedelta(days=1), datetime(2100, 5, 1, tzinfo=UTC)]
    return [(uuid.uuid4(), times[i % 3], f"M{i % 7}", "RUNNING", "gw-1", i) for i in range(count)]


def test_same_batch_twice_leaves_one_copy(db_conn: Connection) -> None:
    rows = state_rows(1000)
    assert write_batch(db_conn, MACHINE_STATE, rows) == 1000
    assert write_batch(db_conn, MACHINE_STATE, rows) == 0
    assert db_conn.execute("SELECT count(*), count(DISTINCT event_id) FROM machine_state").fetchone() == (1000, 1000)
    stored = db_conn.execute("SELECT event_id, ts, machine_id, state, source, seq FROM machine_state").fetchall()
    assert sorted(stored, key=lambda row: row[5]) == rows


def test_overlapping_batch_writes_only_the_new_rows(db_conn: Connection) -> None:
    rows = state_rows(30)
    write_batch(db_conn, MACHINE_STATE, rows[:20])
    assert write_batch(db_conn, MACHINE_STATE, rows[10:]) == 10
    assert db_conn.execute("SELECT count(*) FROM machine_state").fetchone() == (30,)


def test_batch_is_committed(db_conn: Connection) -> None:
    write_batch(db_conn, MACHINE_STATE, state_rows(5))
    assert db_conn.info.transaction_status.name == "IDLE"


def test_aggregate_rewrite_updates_in_place(db_conn: Connection) -> None:
    bucket = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    write_batch(db_conn, UTILIZATION, [("H2", bucket, 30.0, 5, 0.4)])
    assert write_batch(db_conn, UTILIZATION, [("H2", bucket, 45.0, 9, 0.6)]) == 1
    assert db_conn.execute("SELECT machine_id, running_s, good, oee FROM machine_utilization_1m").fetchall() == [
        ("H2", 45.0, 9, 0.6)
    ]


def test_failed_batch_writes_nothing(db_conn: Connection) -> None:
    good = state_rows(3)
    bad = (uuid.uuid4(), datetime.now(UTC), "M1", "EXPLODED", "gw-1", 99)  # not a machine state
    with pytest.raises(psycopg.errors.CheckViolation):
        write_batch(db_conn, MACHINE_STATE, [*good, bad])
    assert db_conn.execute("SELECT count(*) FROM machine_state").fetchone() == (0,)
