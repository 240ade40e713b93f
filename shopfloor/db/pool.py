"""Connections to PostgreSQL from :class:`PostgresSettings`, with the search_path on the settings' schema.

The pool is created closed and opened explicitly (``pool.open()`` / ``pool.close()``, or ``with
make_pool(settings) as pool:``) so no connection is made as a side effect of building an object.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from shopfloor.settings import PostgresSettings

Connection = psycopg.Connection[TupleRow]


def make_pool(settings: PostgresSettings, *, name: str = "shopfloor") -> ConnectionPool[Connection]:
    """A closed pool sized by the settings; open it before use and close it when done."""
    return ConnectionPool(
        settings.conninfo(),
        min_size=settings.pool_min,
        max_size=settings.pool_max,
        open=False,
        name=name,
    )


def connect(settings: PostgresSettings, *, autocommit: bool = False) -> Connection:
    """One connection outside any pool (CLI commands, migrations, tests); close it when done."""
    return psycopg.connect(settings.conninfo(), autocommit=autocommit)
