"""Daily partitions and retention for the time tables on plain PostgreSQL.

With TimescaleDB the hypertables chunk themselves and a retention policy drops old chunks; without
it, each time table (see ``shopfloor_time_table``, filled by migration 001's helper) is partitioned by
range on its time column. This module keeps a partition per UTC day from today up to ``days_ahead``
days ahead, and drops the partitions of raw tables older than the retention. Rows outside every daily
partition land in the table's DEFAULT partition; when their day's partition is created, they are
moved into it first (PostgreSQL refuses to create a partition whose rows sit in the default one).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from psycopg import sql

from shopfloor.db.pool import Connection

_PARTITION_SUFFIX = re.compile(r"_p(\d{8})$")


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


def create_partition(conn: Connection, table: str, time_column: str, day: date) -> None:
    """Create the day's partition, moving that day's rows out of the DEFAULT partition first."""
    part = sql.Identifier(partition_name(table, day))
    parent = sql.Identifier(table)
    default = sql.Identifier(f"{table}_default")
    column = sql.Identifier(time_column)
    low, high = _day_start(day), _day_start(day + timedelta(days=1))
    bounds = (sql.Literal(low), sql.Literal(high))
    waiting = conn.execute(
        sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {col} >= %s AND {col} < %s)").format(default, col=column),
        (low, high),
    ).fetchone()
    if not (waiting and waiting[0]):
        # The common case, in one statement. Should a row for that day slip into the default partition
        # right after the check, this fails and the next run takes the moving path below.
        conn.execute(
            sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(part, parent, *bounds)
        )
        return
    with conn.transaction():
        conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(part, parent))
        conn.execute(
            sql.SQL(
                "WITH moved AS (DELETE FROM {default} WHERE {col} >= %s AND {col} < %s RETURNING *) "
                "INSERT INTO {part} SELECT * FROM moved"
            ).format(default=default, col=column, part=part),
            (low, high),
        )
        # ATTACH creates the partition's copies of the parent's indexes and primary key.
        conn.execute(
            sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(parent, part, *bounds)
        )


def ensure_partitions(conn: Connection, days_ahead: int, *, today: date | None = None) -> list[str]:
    """Create the missing daily partitions from today to ``days_ahead`` days ahead; returns their names."""
    start = today or datetime.now(UTC).date()
    created: list[str] = []
    for table, time_column, _retained in time_tables(conn):
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


def drop_expired_partitions(conn: Connection, retention_days: int, *, today: date | None = None) -> list[str]:
    """Drop the daily partitions of raw (retained) tables whose whole day is older than the retention."""
    cutoff = (today or datetime.now(UTC).date()) - timedelta(days=retention_days)
    dropped: list[str] = []
    for table, _column, retained in time_tables(conn):
        if not retained:
            continue
        for name in sorted(existing_partitions(conn, table)):
            match = _PARTITION_SUFFIX.search(name)
            if (
                match
                and name == f"{table}{match.group(0)}"
                and datetime.strptime(match.group(1), "%Y%m%d").date() < cutoff
            ):
                with conn.transaction():
                    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
                dropped.append(name)
    return dropped


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
