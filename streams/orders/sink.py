"""Current-state writes of the order processor: orders, releases and operation progress.

One call writes one batch in one transaction; every statement is a replacing upsert on a natural key
(orders are guarded by version in :mod:`shopfloor.db.state`), so a redelivered batch rewrites the
same values. Progress is stored in ``operation_progress`` and then merged into ``operation`` and
rolled up into ``work_order``: the merge runs after releases too, so arrival order does not matter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shopfloor.db.bulk import BulkTable
from shopfloor.db.bulk import write_batch as bulk_write
from shopfloor.db.pool import Connection
from shopfloor.db.state import cancel_order, upsert_order, upsert_work_order
from shopfloor.events import (
    OrderApprovedEvent,
    OrderCancelledEvent,
    OrderChangedEvent,
    OrderCreatedEvent,
    WoReleasedPayload,
)
from streams.orders.progress import OperationProgress
from streams.orders.stdtime import refresh_standard_times

# Key of the advisory lock that serializes the processor's batch writes (any fixed 64-bit number).
WRITER_LOCK = 0x5F0_0D_E5

OrderEvent = OrderCreatedEvent | OrderApprovedEvent | OrderChangedEvent | OrderCancelledEvent


@dataclass
class Batch:
    """What one batch of events changed, de-duplicated: the last value per key wins."""

    orders: list[OrderEvent] = field(default_factory=list)
    releases: dict[str, WoReleasedPayload] = field(default_factory=dict)
    progress: dict[tuple[str, int], OperationProgress] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.orders) + len(self.releases) + len(self.progress)


PROGRESS = BulkTable(
    "operation_progress",
    (
        "work_order_id",
        "seq",
        "status",
        "machine_id",
        "actual_start",
        "actual_finish",
        "good",
        "scrap",
        "active_s",
        "paused_s",
        "events",
        "updated_at",
    ),
    key=("work_order_id", "seq"),
    update=(
        "status",
        "machine_id",
        "actual_start",
        "actual_finish",
        "good",
        "scrap",
        "active_s",
        "paused_s",
        "events",
        "updated_at",
    ),
)

_MERGE = """
UPDATE operation o SET
    status = p.status, machine_id = COALESCE(p.machine_id, o.machine_id), actual_start = p.actual_start,
    actual_finish = p.actual_finish, good = p.good, scrap = p.scrap, updated_at = now()
FROM operation_progress p
WHERE o.work_order_id = p.work_order_id AND o.seq = p.seq AND o.work_order_id = ANY(%(wos)s)
  AND p.work_order_id = ANY(%(wos)s)
  AND (o.status, o.machine_id, o.actual_start, o.actual_finish, o.good, o.scrap)
      IS DISTINCT FROM (p.status, COALESCE(p.machine_id, o.machine_id), p.actual_start, p.actual_finish, p.good,
                        p.scrap)
"""

# shopfloor.db.state's roll-up, for many work orders at once: output is the last step's good.
_ROLL_UP = """
UPDATE work_order w SET
    status = CASE WHEN w.status = 'cancelled' THEN 'cancelled'
                  WHEN agg.all_done THEN 'done'
                  WHEN agg.any_started OR agg.any_done THEN 'started'
                  WHEN agg.any_paused THEN 'paused'
                  ELSE 'released' END,
    actual_start = agg.first_start,
    actual_finish = CASE WHEN agg.all_done THEN agg.last_finish END,
    good = agg.last_good, scrap = agg.total_scrap, updated_at = now()
FROM (
    SELECT work_order_id, bool_and(status = 'done') AS all_done, bool_or(status = 'started') AS any_started,
           bool_or(status = 'paused') AS any_paused, bool_or(status = 'done') AS any_done,
           min(actual_start) AS first_start, max(actual_finish) AS last_finish,
           (array_agg(good ORDER BY seq DESC))[1] AS last_good, sum(scrap) AS total_scrap
    FROM operation WHERE work_order_id = ANY(%(wos)s) GROUP BY work_order_id
) agg
WHERE w.work_order_id = agg.work_order_id
"""


def progress_row(p: OperationProgress) -> tuple[object, ...]:
    return (
        p.work_order_id,
        p.seq,
        p.status,
        p.machine_id,
        p.actual_start,
        p.actual_finish,
        p.good,
        p.scrap,
        p.active_s,
        p.paused_s,
        p.events,
        datetime.now(UTC),
    )


def write_batch(conn: Connection, batch: Batch) -> None:
    """Apply the batch in one transaction (committed on return).

    The orders agent and the mes agent (and other workers) write concurrently; under READ COMMITTED a
    release and a progress write to the same work order could each miss the other's uncommitted row,
    so batches take one transaction-scoped advisory lock and apply one after the other.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
        for event in batch.orders:
            if isinstance(event, OrderCancelledEvent):
                cancel_order(conn, event.payload)
            else:
                upsert_order(conn, event.payload, event.type)
        for release in batch.releases.values():
            upsert_work_order(conn, release)
        if batch.progress:
            # COPY to staging, then one INSERT ... ON CONFLICT DO UPDATE (a replacing upsert).
            bulk_write(conn, PROGRESS, [progress_row(p) for p in batch.progress.values()])
        touched = sorted({wo for wo, _ in batch.progress} | set(batch.releases))
        if touched:
            merge_progress(conn, touched)
            refresh_standard_times(conn, touched)


def merge_progress(conn: Connection, work_orders: Sequence[str]) -> None:
    """Copy recorded progress into ``operation`` and roll the work orders up."""
    conn.execute(_MERGE, {"wos": list(work_orders)})
    conn.execute(_ROLL_UP, {"wos": list(work_orders)})


def order_ids(events: Iterable[OrderEvent]) -> list[str]:
    return sorted({e.payload.order_id for e in events})
