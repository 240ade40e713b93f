"""A bounded, crash-safe outbox in SQLite (WAL mode).

Every message an edge agent sends is committed here first and deleted only after the broker's PUBACK,
or, for an agent with delivery confirmations, once the bridge confirms Kafka has it (by seq), so a broker
outage, a broker killed before it saved its state, or a kill -9 loses nothing that was committed.

Durability: ``synchronous=NORMAL`` by default. In WAL mode a commit appends the transaction to the WAL
file with ``write()`` before ``commit()`` returns; the data then lives in the OS page cache, which a
killed process cannot take with it. So kill -9 never loses a committed row. What NORMAL gives up is a
power cut or kernel crash between checkpoints (the last transactions may roll back); ``FULL`` closes
that gap with an fsync per commit, at a large cost in throughput. Agents whose every message matters
beyond process crashes (the scan agent on a terminal that may lose power) can ask for ``FULL``.
``fsync_classes`` makes it per commit: a commit holding a message of one of those classes runs with
``FULL``, the others with ``NORMAL`` (the PLC gateway: state, counters and scans survive a power cut;
process values committed after the last such fsync may roll back: a few seconds of samples at most, the
next sample replaces them). The WAL is one file, so a FULL commit also makes every earlier NORMAL commit
durable. Seq reservations are always fsynced: a seq reused after a power cut would make two events one
for whoever de-duplicates or confirms by ``(source, seq)``.

Bound and shedding policy: at most ``max_rows`` rows and ``max_bytes`` bytes (payload + topic). When a
new message does not fit, rows are shed oldest first from the cheapest class that is not more valuable
than the newcomer: process values first, then telemetry (state, counters, birth/death). Scans (``wo``)
are never shed: a scan that cannot fit is refused with :class:`QueueFullError`, and a process value or
telemetry message that cannot fit (the queue holds only more valuable rows) is itself shed.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Final, Literal

from shopfloor.topics import MqttKind

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids never reused, so id order is send order
    cls INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    size INTEGER NOT NULL,
    is_event INTEGER NOT NULL,
    seq INTEGER  -- the event's seq: rows with one leave on the platform's confirmation (see edge/agent/link.py)
);
CREATE INDEX IF NOT EXISTS outbox_cls_id ON outbox (cls, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

# Seqs are reserved from disk in blocks so new_event() does not need a commit of its own; a restart
# skips the unused rest of a block (a gap the node's birth announces with its seq_start).
SEQ_BLOCK: Final = 1000
_DELETE_CHUNK: Final = 500


class MessageClass(IntEnum):
    """How valuable a queued message is; lower classes are shed first."""

    PROCESS = 0
    TELEMETRY = 1
    SCAN = 2

    @classmethod
    def for_kind(cls, kind: MqttKind) -> MessageClass:
        if kind is MqttKind.PROCESS:
            return cls.PROCESS
        if kind is MqttKind.WO:
            return cls.SCAN
        return cls.TELEMETRY


class QueueFullError(RuntimeError):
    """A scan could not be queued: the queue is full of scans. The caller must tell the operator."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    topic: str
    payload: bytes
    # False for bytes put through publish_raw (fault injection): sent as they are, never re-serialized.
    is_event: bool
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    topic: str
    payload: bytes
    cls: MessageClass
    is_event: bool = True
    seq: int | None = None


@dataclass(slots=True)
class QueueStats:
    rows: int
    bytes: int
    rows_by_class: dict[str, int] = field(default_factory=dict)
    shed: int = 0
    refused: int = 0


class OutboxQueue:
    """Thread-safe: the agent's callers enqueue while its sender thread reads and deletes."""

    def __init__(
        self,
        path: Path,
        *,
        max_rows: int = 200_000,
        max_bytes: int = 256 * 1024 * 1024,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        fsync_classes: Iterable[MessageClass] = (),
    ) -> None:
        if max_rows < 1 or max_bytes < 1:
            raise ValueError("max_rows and max_bytes must be positive")
        self.path = path
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self.synchronous = synchronous
        self.fsync_classes = frozenset(fsync_classes)
        self._sync_now: str = synchronous
        path.parent.mkdir(parents=True, exist_ok=True)
        # A short busy timeout: the only contender is another process holding the file (refused below).
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=1.0)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            # One agent per queue file: a second process opening it fails instead of interleaving.
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
            if "seq" not in columns:  # an outbox written before delivery confirmations
                self._db.execute("ALTER TABLE outbox ADD COLUMN seq INTEGER")
            self._db.execute("CREATE INDEX IF NOT EXISTS outbox_seq ON outbox (seq) WHERE seq IS NOT NULL")
            self._rows = [0, 0, 0]
            self._bytes = [0, 0, 0]
            self._load_counters()
            self._seq_next = self._meta("seq_reserved")
            self._seq_reserved = self._seq_next
        except sqlite3.OperationalError as exc:
            self._db.close()
            if "locked" in str(exc):
                raise RuntimeError(f"outbox {path} is in use by another agent process") from exc
            raise
        except Exception:
            self._db.close()
            raise
        self.shed = 0
        self.refused = 0
        self.max_id_at_open = self.max_id()
        self.seq_at_open = self._seq_next

    def _set_sync(self, level: str) -> None:
        """synchronous level of the next commits (outside a transaction; cheap when unchanged)."""
        if level != self._sync_now:
            self._db.execute(f"PRAGMA synchronous={level}")
            self._sync_now = level

    def _sync_for(self, items: Sequence[OutboxItem]) -> str:
        if self.fsync_classes and any(item.cls in self.fsync_classes for item in items):
            return "FULL"
        return self.synchronous

    # -- counters -----------------------------------------------------------------------------------
    def _load_counters(self) -> None:
        self._rows = [0, 0, 0]
        self._bytes = [0, 0, 0]
        for cls, count, size in self._db.execute("SELECT cls, count(*), sum(size) FROM outbox GROUP BY cls"):
            self._rows[cls] = int(count)
            self._bytes[cls] = int(size or 0)

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    @property
    def rows(self) -> int:
        return sum(self._rows)

    @property
    def total_bytes(self) -> int:
        return sum(self._bytes)

    def stats(self) -> QueueStats:
        with self._lock:
            by_class = {cls.name.lower(): self._rows[cls] for cls in MessageClass}
            return QueueStats(self.rows, self.total_bytes, by_class, self.shed, self.refused)

    # -- sequence numbers ---------------------------------------------------------------------------
    def next_seq(self) -> int:
        """Next per-source seq: monotonic across restarts of the agent that owns this queue."""
        with self._lock:
            if self._seq_next >= self._seq_reserved:
                self._seq_reserved = self._seq_next + SEQ_BLOCK
                self._set_sync("FULL")  # once per block; see the module docstring
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('seq_reserved', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (self._seq_reserved,),
                )
            seq = self._seq_next
            self._seq_next += 1
            return seq

    # -- enqueue ------------------------------------------------------------------------------------
    def put(self, topic: str, payload: bytes, cls: MessageClass, *, is_event: bool = True) -> bool:
        """Commit one message; False when it was shed on arrival. Raises QueueFullError for a scan."""
        return self.put_many([OutboxItem(topic, payload, cls, is_event)]) == 1

    def put_many(self, items: Sequence[OutboxItem]) -> int:
        """Commit messages in one transaction, in order; returns how many were admitted.

        All or nothing for scans: if one scan cannot fit, nothing of the batch is kept.
        """
        if not items:
            return 0
        with self._lock:
            self._set_sync(self._sync_for(items))
            self._db.execute("BEGIN IMMEDIATE")
            admitted = 0
            shed_before = self.shed
            try:
                for item in items:
                    size = len(item.payload) + len(item.topic)
                    if not self._make_room(item.cls, size):
                        if item.cls is MessageClass.SCAN:
                            raise QueueFullError(
                                f"store-and-forward queue full ({self.rows} rows, {self.total_bytes} bytes of scans)"
                            )
                        self.shed += 1
                        continue
                    self._db.execute(
                        "INSERT INTO outbox (cls, topic, payload, size, is_event, seq) VALUES (?, ?, ?, ?, ?, ?)",
                        (int(item.cls), item.topic, item.payload, size, int(item.is_event), item.seq),
                    )
                    self._rows[item.cls] += 1
                    self._bytes[item.cls] += size
                    admitted += 1
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._load_counters()
                self.shed = shed_before
                self.refused += 1
                raise
            return admitted

    def _fits(self, size: int) -> bool:
        return self.rows + 1 <= self.max_rows and self.total_bytes + size <= self.max_bytes

    def _make_room(self, cls: MessageClass, size: int) -> bool:
        if size > self.max_bytes:
            return False
        # Shed only classes cheaper than or equal to the newcomer, scans never.
        for victim in (MessageClass.PROCESS, MessageClass.TELEMETRY):
            if victim > cls:
                break
            while not self._fits(size) and self._rows[victim] > 0:
                need = max(1, self.rows + 1 - self.max_rows)
                shed = self._db.execute(
                    "DELETE FROM outbox WHERE id IN "
                    "(SELECT id FROM outbox WHERE cls = ? ORDER BY id LIMIT ?) RETURNING size",
                    (int(victim), need),
                ).fetchall()
                self._rows[victim] -= len(shed)
                self._bytes[victim] -= sum(row[0] for row in shed)
                self.shed += len(shed)
        return self._fits(size)

    # -- the sender's side --------------------------------------------------------------------------
    def read_after(self, after_id: int, limit: int) -> list[OutboxRow]:
        """The oldest ``limit`` rows with an id above ``after_id``, in send order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, is_event, seq FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [OutboxRow(int(r[0]), str(r[1]), bytes(r[2]), bool(r[3]), r[4]) for r in rows]

    def delete_seq_ranges(self, ranges: Iterable[tuple[int, int]]) -> int:
        """Delete the rows whose seq lies in one of the inclusive ranges (confirmed); returns how many."""
        deleted = 0
        with self._lock:
            self._set_sync(self.synchronous)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for first, last in ranges:
                    gone = self._db.execute(
                        "DELETE FROM outbox WHERE seq BETWEEN ? AND ? RETURNING cls, size", (first, last)
                    ).fetchall()
                    for cls, size in gone:
                        self._rows[cls] -= 1
                        self._bytes[cls] -= size
                    deleted += len(gone)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._load_counters()
                raise
        return deleted

    def delete(self, ids: Iterable[int]) -> int:
        """Delete acknowledged rows (ids already shed are ignored); returns how many were deleted."""
        pending = list(ids)
        if not pending:
            return 0
        deleted = 0
        with self._lock:
            # A delete lost to a power cut only re-sends a confirmed message: consumers drop repeats.
            self._set_sync(self.synchronous)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for start in range(0, len(pending), _DELETE_CHUNK):
                    chunk = pending[start : start + _DELETE_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    gone = self._db.execute(
                        f"DELETE FROM outbox WHERE id IN ({marks}) RETURNING cls, size", chunk
                    ).fetchall()
                    for cls, size in gone:
                        self._rows[cls] -= 1
                        self._bytes[cls] -= size
                    deleted += len(gone)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._load_counters()
                raise
        return deleted

    def max_id(self) -> int:
        """Highest id ever assigned (also when its row is gone): rows up to it predate this moment."""
        with self._lock:
            row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._db.close()
