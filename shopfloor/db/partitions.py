"""Daily partitions and retention for the time tables on plain PostgreSQL.

With TimescaleDB the hypertables chunk themselves and a retention policy drops old chunks; without
it, each time table (see ``shopfloor_time_table``, filled by migration 001's helper) is partitioned by
range on its time column. This module keeps a partition per UTC day from today up to ``days_ahead``
days ahead, and drops the partitions of raw tables older than the retention.

Rows outside every daily partition (late replays, far-future or epoch timestamps) land in the table's
DEFAULT partition. :func:`maintain_partitions` drains it: rows older than a raw table's retention are
deleted, every other day found there gets its partition and its rows are moved into it. A day's
partition is always made the same way, with the locks taken in the order writers take them (parent,
then partition), so neither side can deadlock: the parent in SHARE ROW EXCLUSIVE mode (writers of that
table wait, readers go on; a writer routing rows with the old partition list would otherwise fail the
DEFAULT partition's new constraint), then the DEFAULT partition in ACCESS EXCLUSIVE mode; then the
table is created, the day's rows moved into it and it is attached (ATTACH scans the DEFAULT partition,
which the draining keeps small). Writers wait only while one day moves. Every table is maintained on
its own: a failure on one is logged and reported, and the others go on.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import psycopg
from psycopg import sql

from shopfloor.db.pool import Connection

log = logging.getLogger(__name__)

_PARTITION_SUFFIX = re.compile(r"_p(\d{8})$")


TimePath = Literal["hypertable", "partitioned"]
"""How this database keeps time tables: TimescaleDB hypertables, or native daily range partitions."""


def time_path(conn: Connection) -> TimePath:
    """Which path the current schema's time tables take (migration 001 chose it: TimescaleDB if present)."""
    row = conn.execute("SELECT shopfloor_has_timescaledb()").fetchone()
    return "hypertable" if row is not None and row[0] else "partitioned"


def partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def time_tables(conn: Connection, kind: str = "partitioned") -> list[tuple[str, str, bool]]:
    """(table, time column, retained) of the current schema's time tables of that kind."""
    rows = conn.execute(
        "SELECT table_name, time_column, retained FROM shopfloor_time_table WHERE kind = %s ORDER BY 1", (kind,)
    ).fetchall()
    return [(str(name), str(column), bool(retained)) for name, column, retained in rows]


def existing_partitions(conn: Connection, table: str) -> set[str]:
    rows = conn.execute(
        """
        SELECT child.relname FROM pg_inherits
        JOIN pg_class child ON child.oid = pg_inherits.inhrelid
        JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
        WHERE parent.oid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident(%s))
        """,
        (table,),
    ).fetchall()
    return {str(name) for (name,) in rows}


def default_partition(table: str) -> str:
    return f"{table}_default"


def create_partition(conn: Connection, table: str, time_column: str, day: date) -> int:
    """Create the day's partition, moving that day's rows out of the DEFAULT partition; returns the rows moved.

    See the module docstring for the lock order. The caller's transaction holds the locks until it ends.
    """
    name = partition_name(table, day)
    part, parent = sql.Identifier(name), sql.Identifier(table)
    default, column = sql.Identifier(default_partition(table)), sql.Identifier(time_column)
    low, high = _day_start(day), _day_start(day + timedelta(days=1))
    bounds = (sql.Literal(low), sql.Literal(high))
    with conn.transaction():
        conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(parent))
        conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(default))
        conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(part, parent))
        moved = conn.execute(
            sql.SQL(
                "WITH moved AS (DELETE FROM {default} WHERE {col} >= %s AND {col} < %s RETURNING *) "
                "INSERT INTO {part} SELECT * FROM moved"
            ).format(default=default, col=column, part=part),
            (low, high),
        ).rowcount
        # ATTACH creates the partition's copies of the parent's indexes and primary key.
        conn.execute(
            sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(parent, part, *bounds)
        )
    return max(moved, 0)


def _ensure_table(conn: Connection, table: str, time_column: str, start: date, days_ahead: int) -> list[str]:
    created: list[str] = []
    # One transaction per table: one commit for its days, and never a lock on two parents at once,
    # so a writer holding several tables cannot deadlock with us.
    with conn.transaction():
        have = existing_partitions(conn, table)
        for offset in range(days_ahead + 1):
            day = start + timedelta(days=offset)
            if partition_name(table, day) not in have:
                create_partition(conn, table, time_column, day)
                created.append(partition_name(table, day))
    return created


def ensure_partitions(conn: Connection, days_ahead: int, *, today: date | None = None) -> list[str]:
    """Create the missing daily partitions from today to ``days_ahead`` days ahead; returns their names."""
    start = today or datetime.now(UTC).date()
    created: list[str] = []
    for table, time_column, _retained in time_tables(conn):
        created += _ensure_table(conn, table, time_column, start, days_ahead)
    return created


@dataclass(frozen=True, slots=True)
class Drained:
    """What draining one table's DEFAULT partition did."""

    moved: int  # rows moved into their day's partition
    expired: int  # rows deleted because they were older than the retention
    created: list[str]  # partitions created for them


def drain_default(conn: Connection, table: str, time_column: str, *, retained: bool, cutoff: date | None) -> Drained:
    """Empty the table's DEFAULT partition: retention first (raw tables), then each day into its partition."""
    default, column = sql.Identifier(default_partition(table)), sql.Identifier(time_column)
    expired = 0
    if retained and cutoff is not None:
        with conn.transaction():
            expired = conn.execute(
                sql.SQL("DELETE FROM {} WHERE {} < %s").format(default, column), (_day_start(cutoff),)
            ).rowcount
    days = [
        day
        for (day,) in conn.execute(
            sql.SQL("SELECT DISTINCT ({} AT TIME ZONE 'UTC')::date FROM {} ORDER BY 1").format(column, default)
        ).fetchall()
    ]
    moved, created = 0, []
    for day in days:
        # One transaction per day: the DEFAULT partition is locked only while one day moves.
        moved += create_partition(conn, table, time_column, day)
        created.append(partition_name(table, day))
    return Drained(moved, max(expired, 0), created)


def _drop_table_expired(conn: Connection, table: str, cutoff: date) -> list[str]:
    dropped: list[str] = []
    for name in sorted(existing_partitions(conn, table)):
        match = _PARTITION_SUFFIX.search(name)
        if match and name == f"{table}{match.group(0)}" and datetime.strptime(match.group(1), "%Y%m%d").date() < cutoff:
            with conn.transaction():
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
            dropped.append(name)
    return dropped


def drop_expired_partitions(conn: Connection, retention_days: int, *, today: date | None = None) -> list[str]:
    """Drop the daily partitions of raw (retained) tables whose whole day is older than the retention."""
    cutoff = (today or datetime.now(UTC).date()) - timedelta(days=retention_days)
    dropped: list[str] = []
    for table, _column, retained in time_tables(conn):
        if retained:
            dropped += _drop_table_expired(conn, table, cutoff)
    return dropped


@dataclass
class PartitionReport:
    """What :func:`maintain_partitions` did, per table where it matters."""

    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    moved: dict[str, int] = field(default_factory=dict)  # table -> rows moved out of its DEFAULT partition
    expired: dict[str, int] = field(default_factory=dict)  # table -> DEFAULT rows deleted by retention
    failed: dict[str, str] = field(default_factory=dict)  # table -> what went wrong (the others went on)


def maintain_partitions(
    conn: Connection, days_ahead: int, retention_days: int, *, today: date | None = None
) -> PartitionReport:
    """For every partitioned time table: drain its DEFAULT partition, create the days ahead, drop the expired.

    Each step commits on its own (a day moved stays moved), so locks are short. A table whose step fails
    has that step rolled back, is logged and reported in ``failed``, and the other tables go on; the next
    run takes it up again (every step is idempotent).
    """
    start = today or datetime.now(UTC).date()
    cutoff = start - timedelta(days=retention_days)
    report = PartitionReport()
    for table, time_column, retained in time_tables(conn):
        try:
            drained = drain_default(conn, table, time_column, retained=retained, cutoff=cutoff)
            created = _ensure_table(conn, table, time_column, start, days_ahead)
            dropped = _drop_table_expired(conn, table, cutoff) if retained else []
        except psycopg.Error as exc:
            log.error("partition maintenance of %s failed, the other tables go on: %s", table, exc)
            report.failed[table] = str(exc).strip() or type(exc).__name__
            continue
        report.created += drained.created + created
        report.dropped += dropped
        if drained.moved:
            report.moved[table] = drained.moved
        if drained.expired:
            report.expired[table] = drained.expired
    return report


def apply_timescale_retention(conn: Connection, retention_days: int) -> None:
    """On TimescaleDB, the retention policy of raw hypertables (idempotent: replaced if it changed)."""
    for table, _column, retained in time_tables(conn, "hypertable"):
        if not retained:
            continue
        with conn.transaction():
            conn.execute("SELECT public.remove_retention_policy(%s::regclass, if_exists => true)", (table,))
            conn.execute(
                "SELECT public.add_retention_policy(%s::regclass, make_interval(days => %s))", (table, retention_days)
            )
