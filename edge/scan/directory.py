"""Where the scan agent learns which work orders exist and whether they are still open."""

from __future__ import annotations

import threading
from enum import StrEnum
from typing import Protocol

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from shopfloor.db.pool import Connection, make_pool
from shopfloor.settings import PostgresSettings


class WorkOrderStatus(StrEnum):
    """The ``work_order.status`` values of the database."""

    RELEASED = "released"
    STARTED = "started"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


CLOSED = frozenset({WorkOrderStatus.DONE, WorkOrderStatus.CANCELLED})


class DirectoryUnavailableError(RuntimeError):
    """The directory cannot answer now (database down, table missing): not the same as "unknown"."""


class WorkOrderDirectory(Protocol):
    def status(self, work_order_id: str) -> WorkOrderStatus | None:
        """The work order's status, or None when no such work order is known."""
        ...


class InMemoryWorkOrderDirectory:
    """A directory held in a dict: for tests, demos and terminals fed from a file."""

    def __init__(self, statuses: dict[str, WorkOrderStatus] | None = None) -> None:
        self._statuses = dict(statuses or {})
        self._lock = threading.Lock()

    def set(self, work_order_id: str, status: WorkOrderStatus) -> None:
        with self._lock:
            self._statuses[work_order_id] = status

    def status(self, work_order_id: str) -> WorkOrderStatus | None:
        with self._lock:
            return self._statuses.get(work_order_id)


class PostgresWorkOrderDirectory:
    """Reads the ``work_order`` table (kept current by the order hub and the MES writer).

    The pool opens in the background, so the agent starts (and takes scans it can check from memory)
    while the database is down; a lookup waits at most ``timeout_s`` for a connection.
    """

    def __init__(self, settings: PostgresSettings, *, pool_max: int = 4, timeout_s: float = 2.0) -> None:
        self._pool: ConnectionPool[Connection] = make_pool(
            settings.model_copy(update={"pool_min": 1, "pool_max": pool_max}), name="scan-directory"
        )
        self._timeout_s = timeout_s
        self._pool.open(wait=False)

    def status(self, work_order_id: str) -> WorkOrderStatus | None:
        try:
            with self._pool.connection(timeout=self._timeout_s) as conn:
                row = conn.execute(
                    "SELECT status FROM work_order WHERE work_order_id = %s", (work_order_id,)
                ).fetchone()
        except (psycopg.Error, PoolTimeout) as exc:
            raise DirectoryUnavailableError(f"work-order directory unavailable: {exc}") from exc
        return None if row is None else WorkOrderStatus(row[0])

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> PostgresWorkOrderDirectory:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
