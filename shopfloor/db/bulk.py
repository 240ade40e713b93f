"""Idempotent batch writes: COPY into a temporary staging table, then one INSERT ... SELECT ... ON CONFLICT.

COPY is the fastest way in; the INSERT from staging de-duplicates against the table's key, so writing
the same batch twice (a Kafka redelivery) leaves one copy. One transaction, one commit per batch.
About 151k rows/s for 6-column event rows in batches of 5,000 (docs/operations.md, "Sizing").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from psycopg import sql

from shopfloor.db.pool import Connection


@dataclass(frozen=True, slots=True)
class BulkTable:
    """Where a batch goes: the table, the columns each row gives, and its conflict key.

    ``update`` lists the columns overwritten when a row with the same key exists (an aggregate being
    recomputed); empty means the first write wins (``DO NOTHING``, for immutable events).
    """

    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    update: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        missing = [name for name in (*self.key, *self.update) if name not in self.columns]
        if missing:
            raise ValueError(f"{self.table}: key/update columns {missing} are not among the columns written")
        if set(self.key) & set(self.update):
            raise ValueError(f"{self.table}: a key column cannot be updated")

    @property
    def staging(self) -> str:
        return f"_stage_{self.table}"

    def insert_sql(self) -> sql.Composed:
        columns = sql.SQL(", ").join(map(sql.Identifier, self.columns))
        action: sql.Composable
        if self.update:
            action = sql.SQL("DO UPDATE SET {}").format(
                sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(name)) for name in self.update)
            )
        else:
            action = sql.SQL("DO NOTHING")
        return sql.SQL(
            "INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} ON CONFLICT ({key}) {action}"
        ).format(
            table=sql.Identifier(self.table),
            columns=columns,
            staging=sql.Identifier(self.staging),
            key=sql.SQL(", ").join(map(sql.Identifier, self.key)),
            action=action,
        )


def write_batch(conn: Connection, target: BulkTable, rows: Iterable[Sequence[object]]) -> int:
    """Write the rows in one transaction and commit; returns how many rows were inserted or updated.

    On a connection already inside a transaction the batch is a savepoint and the caller commits
    (psycopg's ``Connection.transaction`` semantics).

    Rows already present (same key) are skipped, or updated when ``target.update`` says so. A batch
    that repeats a key within itself is an error with ``update`` (PostgreSQL cannot update one row
    twice in a statement); de-duplicate aggregates before writing them.
    """
    staging = sql.Identifier(target.staging)
    columns = sql.SQL(", ").join(map(sql.Identifier, target.columns))
    with conn.transaction():
        # One staging table per target and session, emptied at every commit.
        conn.execute(
            sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS").format(
                staging, sql.Identifier(target.table)
            )
        )
        with conn.cursor() as cursor:
            with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(staging, columns)) as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(target.insert_sql())
            written = cursor.rowcount
    return written
