"""Where each operation stands as far as this scan agent knows, kept across restarts.

The directory (database) learns of scans through MQTT, the bridge and Kafka, so it can lag, and it
only knows work-order status. The agent's own record decides "finish of a not-started operation" or
"report after finish"; with a ``path`` it survives a restart (SQLite, synchronous=FULL: few writes).
"""

from __future__ import annotations

import sqlite3
import threading
from enum import StrEnum
from pathlib import Path


class OperationState(StrEnum):
    NOT_STARTED = "not_started"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"


class OperationStates:
    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._states: dict[tuple[str, int], OperationState] = {}
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS operation_state (work_order_id TEXT NOT NULL, seq INTEGER NOT NULL,"
                " state TEXT NOT NULL, PRIMARY KEY (work_order_id, seq))"
            )
            for wo, seq, state in self._db.execute("SELECT work_order_id, seq, state FROM operation_state"):
                self._states[(wo, int(seq))] = OperationState(state)

    def get(self, work_order_id: str, seq: int) -> OperationState | None:
        with self._lock:
            return self._states.get((work_order_id, seq))

    def set(self, work_order_id: str, seq: int, state: OperationState) -> None:
        with self._lock:
            if self._db is not None:
                self._db.execute(
                    "INSERT INTO operation_state VALUES (?, ?, ?) "
                    "ON CONFLICT (work_order_id, seq) DO UPDATE SET state = excluded.state",
                    (work_order_id, seq, state.value),
                )
            self._states[(work_order_id, seq)] = state

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
