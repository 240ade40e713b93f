"""The DEFAULT partition is drained and retained (plain PostgreSQL): its rows move into their day's
partition, rows older than the retention are deleted, a failing table does not stop the others, and a
writer arriving while a day moves waits and lands in the new partition. With TimescaleDB there is no
DEFAULT partition: every row lands in a chunk, and maintenance has nothing to drain."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from shopfloor.db import time_path
from shopfloor.db.partitions import (
    create_partition,
    default_partition,
    existing_partitions,
    maintain_partitions,
    partition_name,
)
from shopfloor.db.pool import Connection, connect
from shopfloor.settings import PostgresSettings

pytestmark = pytest.mark.integration

TODAY = datetime.now(UTC).date()


def insert(conn: Connection, table: str, ts: datetime, machine_id: str = "H2") -> str:
    """Insert one row into a raw table or the minute aggregate; returns the partition or chunk holding it."""
    if table == "machine_state":
        query = (
            "INSERT INTO machine_state (event_id, ts, machine_id, state, source, seq) "
            "VALUES (%s, %s, %s, 'RUNNING', 'gw-1', 1) RETURNING tableoid::regclass::text"
        )
        params: tuple[object, ...] = (uuid.uuid4(), ts, machine_id)
    elif table == "machine_counter":
        query = (
            "INSERT INTO machine_counter (event_id, ts, machine_id, good, scrap, source, seq) "
            "VALUES (%s, %s, %s, 1, 0, 'gw-1', 1) RETURNING tableoid::regclass::text"
        )
        params = (uuid.uuid4(), ts, machine_id)
    else:
        query = (
            "INSERT INTO machine_utilization_1m (machine_id, bucket, running_s) VALUES (%s, %s, 60) "
            "RETURNING tableoid::regclass::text"
        )
        params = (machine_id, ts)
    row = conn.execute(query, params).fetchone()
    conn.commit()
    assert row is not None
    return str(row[0]).rsplit(".", 1)[-1].strip('"')


def rows_by_partition(conn: Connection, table: str) -> dict[str, int]:
    found = conn.execute(f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1").fetchall()
    return {str(name).rsplit(".", 1)[-1].strip('"'): int(count) for name, count in found}


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def test_default_rows_move_into_their_days_and_expired_ones_go(db_conn: Connection) -> None:
    late_day = TODAY - timedelta(days=3)  # a late replay: inside the retention, before the partitions
    far_day = date(2100, 1, 1)  # a clock far ahead
    epoch = datetime(1970, 1, 1, tzinfo=UTC)  # a zero timestamp
    if time_path(db_conn) == "hypertable":
        # TimescaleDB makes a chunk for any time: nothing waits in a DEFAULT partition.
        for ts in (noon(late_day), noon(far_day), epoch):
            assert insert(db_conn, "machine_state", ts).startswith("_hyper_")
        assert maintain_partitions(db_conn, 2, 90).created == []
        return

    for ts in (noon(late_day), noon(late_day) + timedelta(hours=1), noon(far_day), epoch):
        assert insert(db_conn, "machine_state", ts) == "machine_state_default"
    assert insert(db_conn, "machine_utilization_1m", epoch) == "machine_utilization_1m_default"

    report = maintain_partitions(db_conn, 2, 90, today=TODAY)
    db_conn.commit()

    assert report.failed == {}
    assert report.moved == {"machine_state": 3, "machine_utilization_1m": 1}
    # Retention applies to raw rows in the DEFAULT partition: the epoch row of a raw table is gone ...
    assert report.expired == {"machine_state": 1}
    assert rows_by_partition(db_conn, "machine_state") == {
        partition_name("machine_state", late_day): 2,
        partition_name("machine_state", far_day): 1,
    }
    # ... while aggregates are kept for ever, in their own day.
    assert rows_by_partition(db_conn, "machine_utilization_1m") == {
        partition_name("machine_utilization_1m", date(1970, 1, 1)): 1
    }
    assert partition_name("machine_state", late_day) in report.created
    # Once a day has its partition, its rows go there directly; a second run has nothing to do.
    assert insert(db_conn, "machine_state", noon(far_day) + timedelta(hours=2)) == partition_name(
        "machine_state", far_day
    )
    again = maintain_partitions(db_conn, 2, 90, today=TODAY)
    assert (again.created, again.moved, again.expired, again.failed) == ([], {}, {}, {})

    # Moved rows are under the retention like any: 100 days later the late day's partition is dropped.
    later = maintain_partitions(db_conn, 0, 90, today=TODAY + timedelta(days=100))
    db_conn.commit()
    assert partition_name("machine_state", late_day) in later.dropped
    assert db_conn.execute("SELECT count(*) FROM machine_state WHERE ts < %s", (noon(TODAY),)).fetchone() == (0,)


def test_a_failing_table_does_not_stop_the_others(db_conn: Connection) -> None:
    if time_path(db_conn) == "hypertable":
        assert maintain_partitions(db_conn, 2, 90).failed == {}  # no partitioned tables to fail
        return
    far_day = date(2100, 1, 1)
    assert insert(db_conn, "machine_state", noon(far_day)) == "machine_state_default"
    assert insert(db_conn, "machine_counter", noon(far_day)) == "machine_counter_default"
    # Something in the way of machine_counter's partition for that day: a table of the same name.
    db_conn.execute(f"CREATE TABLE {partition_name('machine_counter', far_day)} (x int)")
    db_conn.commit()

    report = maintain_partitions(db_conn, 2, 90, today=TODAY)
    db_conn.commit()

    assert set(report.failed) == {"machine_counter"}
    assert "already exists" in report.failed["machine_counter"]
    assert report.moved["machine_state"] == 1
    # The failed table lost nothing: its row still waits in the DEFAULT partition ...
    assert rows_by_partition(db_conn, "machine_counter") == {"machine_counter_default": 1}
    # ... and the next run, once the way is clear, moves it.
    db_conn.execute(f"DROP TABLE {partition_name('machine_counter', far_day)}")
    db_conn.commit()
    retried = maintain_partitions(db_conn, 2, 90, today=TODAY)
    db_conn.commit()
    assert retried.failed == {} and retried.moved == {"machine_counter": 1}
    assert rows_by_partition(db_conn, "machine_counter") == {partition_name("machine_counter", far_day): 1}


def test_a_writer_arriving_while_a_day_moves_waits_and_lands_in_the_new_partition(
    db_conn: Connection, pg_settings: PostgresSettings
) -> None:
    far_day = date(2100, 1, 1)
    if time_path(db_conn) == "hypertable":
        # No day is ever moved with TimescaleDB: a writer's far-future row simply gets its chunk.
        assert insert(db_conn, "machine_state", noon(far_day)).startswith("_hyper_")
        return
    insert(db_conn, "machine_state", noon(far_day))
    landed: list[str] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with connect(pg_settings) as conn:
                conn.execute("SET application_name = 'late-writer'")
                conn.commit()
                landed.append(insert(conn, "machine_state", noon(far_day) + timedelta(minutes=5)))
        except BaseException as exc:
            errors.append(exc)

    db_conn.execute("SELECT 1")  # open a transaction: the move's locks are held until its commit below
    moved = create_partition(db_conn, "machine_state", "ts", far_day)
    assert moved == 1
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        # The writer queues behind the move's locks (it must neither fail nor go into the DEFAULT partition).
        with connect(pg_settings, autocommit=True) as observer:
            for _ in range(600):
                waiting = observer.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE application_name = 'late-writer'"
                ).fetchone()
                if waiting is not None and waiting[0] == "Lock":
                    break
                time.sleep(0.05)
            else:
                pytest.fail(f"the writer never waited for the move's lock ({errors or landed})")
    finally:
        db_conn.commit()
        thread.join(30)
    assert errors == []
    assert landed == [partition_name("machine_state", far_day)]
    assert rows_by_partition(db_conn, "machine_state")[partition_name("machine_state", far_day)] == 2
    assert default_partition("machine_state") in existing_partitions(db_conn, "machine_state")
