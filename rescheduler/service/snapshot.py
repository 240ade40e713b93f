"""What the planner reads from the database: open work orders, learned times, breakdowns, the current plan.

Open work orders are those not done or cancelled whose order is approved or in production (a work
order whose order row has not arrived yet is planned too: the order hub released it). Operations
already done are left out; started (or paused) ones become frozen at their machine.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from psycopg import pq

from rescheduler.service.plan import PlannedOp
from shopfloor.db.pool import Connection
from shopfloor.events import BREAKDOWN_STATES

log = logging.getLogger(__name__)

# A learned standard time replaces the routing's from this many samples on (ReschedulerSettings).
MIN_LEARNED_SAMPLES = 5


@dataclass(frozen=True, slots=True)
class OpenOperation:
    seq: int
    workcenter_id: str
    eligible_machines: tuple[str, ...]
    setup_min: float
    unit_min: float
    status: str
    machine_id: str | None
    actual_start: datetime | None
    good: int

    @property
    def started(self) -> bool:
        return self.status in ("started", "paused") and self.machine_id is not None and self.actual_start is not None


@dataclass(frozen=True, slots=True)
class OpenWorkOrder:
    work_order_id: str
    order_id: str
    customer_id: str | None
    product_id: str
    quantity: int
    due: datetime
    order_due: datetime
    priority: int
    rush: bool
    release: datetime | None
    margin_pct: float | None
    operations: tuple[OpenOperation, ...]


@dataclass(frozen=True, slots=True)
class CurrentPlan:
    plan_id: str
    version: int
    ops: tuple[PlannedOp, ...]


@dataclass
class Snapshot:
    work_orders: list[OpenWorkOrder]
    # (product, operation seq) -> (unit_min, setup_min) learned from actual durations.
    standard_times: dict[tuple[str, int], tuple[float, float]] = field(default_factory=dict)
    # Machines in breakdown: machine -> (state, since).
    down: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    # Active bottlenecks: workcenter -> hours fully booked.
    bottlenecks: dict[str, float] = field(default_factory=dict)
    current: CurrentPlan | None = None


def read_snapshot(conn: Connection, site_id: str, min_learned_samples: int = MIN_LEARNED_SAMPLES) -> Snapshot:
    """Everything a replan needs, read in one consistent (repeatable-read) transaction."""
    outermost = conn.info.transaction_status == pq.TransactionStatus.IDLE
    with conn.transaction():
        if outermost:  # inside a caller's transaction, its isolation applies
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return Snapshot(
            work_orders=_work_orders(conn),
            standard_times=_standard_times(conn, min_learned_samples),
            down={
                m: (state, since)
                for m, state, since in conn.execute("SELECT machine_id, state, since FROM machine_current_state")
                if state in BREAKDOWN_STATES
            },
            bottlenecks=dict(
                conn.execute("SELECT workcenter_id, full_for_hours FROM bottleneck WHERE active").fetchall()
            ),
            current=read_current_plan(conn, site_id),
        )


def _work_orders(conn: Connection) -> list[OpenWorkOrder]:
    ops: dict[str, list[OpenOperation]] = {}
    for row in conn.execute(
        """
        SELECT p.work_order_id, p.seq, p.workcenter_id, p.eligible_machines, p.setup_min, p.unit_min, p.status,
               p.machine_id, p.actual_start, p.good
        FROM operation p JOIN work_order w USING (work_order_id)
        WHERE p.status <> 'done' AND w.status NOT IN ('done', 'cancelled')
        ORDER BY p.work_order_id, p.seq
        """
    ):
        ops.setdefault(row[0], []).append(
            OpenOperation(
                row[1], row[2], tuple(row[3]), float(row[4]), float(row[5]), row[6], row[7], row[8], int(row[9])
            )
        )
    rows = conn.execute(
        """
        SELECT w.work_order_id, w.order_id, o.customer_id, w.product_id, w.quantity, w.due_date,
               COALESCE(o.due_date, w.due_date), GREATEST(w.priority, COALESCE(o.priority, 1)),
               w.rush OR COALESCE(o.rush, false), w.release_time, o.margin_pct
        FROM work_order w LEFT JOIN customer_order o USING (order_id)
        WHERE w.status NOT IN ('done', 'cancelled')
          AND (o.order_id IS NULL OR o.status IN ('approved', 'in_production'))
        ORDER BY w.work_order_id
        """
    ).fetchall()
    return [
        OpenWorkOrder(
            r[0], r[1], r[2], r[3], int(r[4]), r[5], r[6], int(r[7]), bool(r[8]), r[9], r[10], tuple(ops[r[0]])
        )
        for r in rows
        if r[0] in ops
    ]


def _standard_times(conn: Connection, min_samples: int) -> dict[tuple[str, int], tuple[float, float]]:
    """Learned times with at least ``min_samples`` samples (the one with most samples per step).

    Each one used is logged, so a plan's times can be traced to their origin; others plan with the
    routing's standard time.
    """
    rows = conn.execute(
        "SELECT DISTINCT ON (product_id, operation_seq) product_id, operation_seq, unit_min, setup_min, samples, "
        "workcenter_id FROM standard_time WHERE samples >= %s ORDER BY product_id, operation_seq, samples DESC",
        (min_samples,),
    ).fetchall()
    for r in rows:
        log.info("planning %s op %s with the learned %.4f min/pc (%d samples, %s)", r[0], r[1], r[2], r[4], r[5])
    return {(r[0], int(r[1])): (float(r[2]), float(r[3])) for r in rows}


def read_current_plan(conn: Connection, site_id: str) -> CurrentPlan | None:
    head = conn.execute(
        "SELECT plan_id, version FROM schedule_plan WHERE site_id = %s AND is_current", (site_id,)
    ).fetchone()
    if head is None:
        return None
    return CurrentPlan(head[0], int(head[1]), tuple(read_plan_ops(conn, head[0])))


def read_plan_ops(conn: Connection, plan_id: str) -> list[PlannedOp]:
    rows = conn.execute(
        "SELECT work_order_id, seq, machine_id, start_ts, end_ts, frozen FROM scheduled_operation WHERE plan_id = %s",
        (plan_id,),
    )
    return [PlannedOp(r[0], int(r[1]), r[2], r[3], r[4], bool(r[5])) for r in rows]
