"""Current state of orders, work orders and operations, written from the event contracts.

The order hub calls these as it consumes ``shopfloor.orders`` and ``shopfloor.mes``; the rescheduler
and the dashboards read the tables. Each function is one transaction (a savepoint when the caller
already has one open). Orders and work orders are upserts by natural key; work-order events are
de-duplicated by their event_id through ``mes_event``, so a redelivered scan never counts twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from psycopg import sql
from psycopg.types.json import Jsonb

from shopfloor.db.pool import Connection
from shopfloor.db.raw import MES_EVENT, WoEvent, mes_event_row
from shopfloor.events import (
    BottleneckClearedEvent,
    BottleneckDetectedEvent,
    OrderCancelledPayload,
    OrderPayload,
    WoFinishedEvent,
    WoPausedEvent,
    WoReleasedPayload,
    WoReportedEvent,
    WoResumedEvent,
    WoStartedEvent,
    event_type,
)

OperationStatus = Literal["pending", "started", "paused", "done"]

_STATUS_AFTER: dict[str, OperationStatus] = {
    event_type(WoStartedEvent): "started",
    event_type(WoReportedEvent): "started",
    event_type(WoPausedEvent): "paused",
    event_type(WoResumedEvent): "started",
    event_type(WoFinishedEvent): "done",
}


def upsert_order(conn: Connection, order: OrderPayload, event_type: str = "order.created") -> bool:
    """Record the version's snapshot, and make it current unless a newer version is already applied.

    The same version may be applied again (``order.approved`` repeats the created version with a new
    status). Returns whether the current row changed.
    """
    with conn.transaction():
        conn.execute(
            "INSERT INTO order_version (order_id, version, event_type, snapshot) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (order_id, version) DO NOTHING",
            (order.order_id, order.version, event_type, Jsonb(order.model_dump(mode="json"))),
        )
        applied = conn.execute(
            """
            INSERT INTO customer_order (order_id, version, customer_id, due_date, priority, rush, status,
                                        project, channel, margin_pct)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (order_id) DO UPDATE SET
                version = EXCLUDED.version, customer_id = EXCLUDED.customer_id, due_date = EXCLUDED.due_date,
                priority = EXCLUDED.priority, rush = EXCLUDED.rush, status = EXCLUDED.status,
                project = EXCLUDED.project, channel = EXCLUDED.channel, margin_pct = EXCLUDED.margin_pct,
                updated_at = now()
            WHERE customer_order.version <= EXCLUDED.version
            RETURNING order_id
            """,
            (
                order.order_id,
                order.version,
                order.customer_id,
                order.due_date,
                order.priority,
                order.rush,
                order.status.value,
                order.project,
                order.channel,
                order.margin_pct,
            ),
        ).fetchone()
        if applied is None:
            return False
        conn.execute("DELETE FROM order_line WHERE order_id = %s", (order.order_id,))
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO order_line (order_id, line_no, product_id, quantity, unit_price) "
                "VALUES (%s, %s, %s, %s, %s)",
                [
                    (order.order_id, line.line_no, line.product_id, line.quantity, line.unit_price)
                    for line in order.lines
                ],
            )
    return True


def cancel_order(conn: Connection, cancel: OrderCancelledPayload) -> bool:
    """Cancel the order (unless a newer version exists) and its work orders that are not done."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE customer_order SET status = 'cancelled', version = %s, updated_at = now() "
            "WHERE order_id = %s AND version <= %s RETURNING order_id",
            (cancel.version, cancel.order_id, cancel.version),
        ).fetchone()
        if row is None:
            return False
        conn.execute(
            "UPDATE work_order SET status = 'cancelled', updated_at = now() WHERE order_id = %s AND status <> 'done'",
            (cancel.order_id,),
        )
    return True


def upsert_work_order(conn: Connection, wo: WoReleasedPayload) -> None:
    """Create or update a work order and its operations; progress already recorded is kept."""
    with conn.transaction():
        conn.execute(
            """
            INSERT INTO work_order (work_order_id, order_id, product_id, quantity, due_date, priority, rush,
                                    release_time)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (work_order_id) DO UPDATE SET
                order_id = EXCLUDED.order_id, product_id = EXCLUDED.product_id, quantity = EXCLUDED.quantity,
                due_date = EXCLUDED.due_date, priority = EXCLUDED.priority, rush = EXCLUDED.rush,
                release_time = EXCLUDED.release_time, updated_at = now()
            """,
            (
                wo.work_order_id,
                wo.order_id,
                wo.product_id,
                wo.quantity,
                wo.due_date,
                wo.priority,
                wo.rush,
                wo.release_time,
            ),
        )
        with conn.cursor() as cursor:
            cursor.executemany(
                """
                INSERT INTO operation (work_order_id, seq, name, workcenter_id, eligible_machines, setup_min,
                                       unit_min)
                VALUES (%s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (work_order_id, seq) DO UPDATE SET
                    name = EXCLUDED.name, workcenter_id = EXCLUDED.workcenter_id,
                    eligible_machines = EXCLUDED.eligible_machines, setup_min = EXCLUDED.setup_min,
                    unit_min = EXCLUDED.unit_min, updated_at = now()
                """,
                [
                    (
                        wo.work_order_id,
                        op.seq,
                        op.name,
                        op.workcenter_id,
                        list(op.eligible_machines),
                        op.setup_min,
                        op.unit_min,
                    )
                    for op in wo.operations
                ],
            )
        # A re-release with a shorter routing drops the steps that have not begun.
        conn.execute(
            "DELETE FROM operation WHERE work_order_id = %s AND status = 'pending' AND NOT (seq = ANY(%s))",
            (wo.work_order_id, [op.seq for op in wo.operations]),
        )


def mark_operation(
    conn: Connection,
    work_order_id: str,
    seq: int,
    status: OperationStatus,
    at: datetime,
    *,
    machine_id: str | None = None,
    good: int = 0,
    scrap: int = 0,
) -> None:
    """Move an operation to ``status`` at ``at``, add produced quantities, and roll the work order up.

    ``done`` is final: a late start or pause scanned after the finish does not reopen the operation.
    Raises :class:`LookupError` for an operation that was never released.
    """
    with conn.transaction():
        row = conn.execute(
            """
            UPDATE operation SET
                status = CASE WHEN status = 'done' THEN 'done' ELSE %(status)s END,
                machine_id = COALESCE(%(machine)s, machine_id),
                actual_start = CASE WHEN %(status)s <> 'pending' THEN LEAST(actual_start, %(at)s)
                                    ELSE actual_start END,
                actual_finish = CASE WHEN %(status)s = 'done' THEN COALESCE(actual_finish, %(at)s)
                                     ELSE actual_finish END,
                good = good + %(good)s, scrap = scrap + %(scrap)s, updated_at = now()
            WHERE work_order_id = %(wo)s AND seq = %(seq)s
            RETURNING seq
            """,
            {
                "status": status,
                "machine": machine_id,
                "at": at,
                "good": good,
                "scrap": scrap,
                "wo": work_order_id,
                "seq": seq,
            },
        ).fetchone()
        if row is None:
            raise LookupError(f"operation {seq} of work order {work_order_id!r} is not known")
        _roll_up_work_order(conn, work_order_id)


def _roll_up_work_order(conn: Connection, work_order_id: str) -> None:
    """The work order's status, times and quantities from its operations (output = the last step's)."""
    conn.execute(
        """
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
            SELECT bool_and(status = 'done') AS all_done, bool_or(status = 'started') AS any_started,
                   bool_or(status = 'paused') AS any_paused, bool_or(status = 'done') AS any_done,
                   min(actual_start) AS first_start, max(actual_finish) AS last_finish,
                   (array_agg(good ORDER BY seq DESC))[1] AS last_good, sum(scrap) AS total_scrap
            FROM operation WHERE work_order_id = %(wo)s
        ) agg
        WHERE w.work_order_id = %(wo)s
        """,
        {"wo": work_order_id},
    )


def record_wo_event(conn: Connection, event: WoEvent) -> bool:
    """Store a work-order event in ``mes_event`` and apply it to its operation, once per event_id.

    Returns False, changing nothing, when the event was already recorded (a redelivery).
    """
    payload = event.payload
    columns = sql.SQL(", ").join(map(sql.Identifier, MES_EVENT.columns))
    values = sql.SQL(", ").join(sql.Placeholder() * len(MES_EVENT.columns))
    with conn.transaction():
        inserted = conn.execute(
            sql.SQL(
                "INSERT INTO mes_event ({}) VALUES ({}) ON CONFLICT (event_id, ts) DO NOTHING RETURNING event_id"
            ).format(columns, values),
            mes_event_row(event),
        ).fetchone()
        if inserted is None:
            return False
        mark_operation(
            conn,
            payload.work_order_id,
            payload.operation_seq,
            _STATUS_AFTER[event.type],
            event.ts,
            machine_id=payload.machine_id,
            good=getattr(payload, "good", 0),
            scrap=getattr(payload, "scrap", 0),
        )
    return True


def record_bottleneck(conn: Connection, event: BottleneckDetectedEvent | BottleneckClearedEvent) -> bool:
    """Upsert the workcenter's ``bottleneck`` row from an event (the newest event time wins); True when
    the row changed. Written by the bottleneck detector and by the rescheduler from the topic, alike."""
    p = event.payload
    detected = isinstance(event, BottleneckDetectedEvent)
    updated = conn.execute(
        """
        INSERT INTO bottleneck (workcenter_id, machine_id, active, load_hours, capacity_hours, full_for_hours, cause,
                                event_id, event_ts)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (workcenter_id) DO UPDATE SET
            machine_id = EXCLUDED.machine_id, active = EXCLUDED.active, load_hours = EXCLUDED.load_hours,
            capacity_hours = EXCLUDED.capacity_hours, full_for_hours = EXCLUDED.full_for_hours,
            cause = EXCLUDED.cause, event_id = EXCLUDED.event_id, event_ts = EXCLUDED.event_ts, updated_at = now()
        WHERE bottleneck.event_ts < EXCLUDED.event_ts
        """,
        (
            p.workcenter_id,
            p.machine_id,
            detected,
            p.load_hours,
            p.capacity_hours,
            event.payload.full_for_hours if isinstance(event, BottleneckDetectedEvent) else 0.0,
            event.payload.cause if isinstance(event, BottleneckDetectedEvent) else "",
            event.event_id,
            event.ts,
        ),
    )
    return bool(updated.rowcount)
