"""Where the scan agent learns which work orders exist and whether they are still open."""

from __future__ import annotations

import threading
from enum import StrEnum
from typing import Protocol

from psycopg_pool import ConnectionPool

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
    """Reads the ``work_order`` table (kept current by the order hub and the MES writer)."""

    def __init__(self, settings: PostgresSettings, *, pool_max: int = 4) -> None:
        self._pool: ConnectionPool[Connection] = make_pool(
            settings.model_copy(update={"pool_min": 1, "pool_max": pool_max}), name="scan-directory"
        )
        self._pool.open(wait=True, timeout=30)

    def status(self, work_order_id: str) -> WorkOrderStatus | None:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT status FROM work_order WHERE work_order_id = %s", (work_order_id,)).fetchone()
        return None if row is None else WorkOrderStatus(row[0])

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> PostgresWorkOrderDirectory:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
