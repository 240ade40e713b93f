"""Writing a plan version: the plan row, its operations and order projections, then making it current.

Called inside the replan's transaction, together with the alerts the plan raises, so readers see
either the old plan with its alerts or the new one with its alerts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rescheduler.alerts.decide import OrderProjection
from rescheduler.service.plan import PlannedOp
from shopfloor.db.pool import Connection


@dataclass(frozen=True, slots=True)
class PlanHeader:
    site_id: str
    trigger: str
    status: str
    weighted_tardiness: float
    makespan_end: datetime | None
    solve_s: float
    created_at: datetime


def plan_id_for(site_id: str, version: int) -> str:
    """Readable and unique for ever: versions restart when the plan history is cleared, and the ids of
    events and alerts derived from a plan id must not repeat then (consumers de-duplicate on them)."""
    return f"{site_id}-v{version}-{uuid.uuid4().hex[:12]}"


def write_plan(
    conn: Connection,
    header: PlanHeader,
    ops: Sequence[PlannedOp],
    projections: Sequence[OrderProjection],
    due_by_work_order: dict[str, datetime],
    keep_plans: int = 200,
) -> tuple[str, int]:
    """Insert the next version for the site and make it current; returns (plan_id, version).

    Only the newest ``keep_plans`` versions are kept (with their operations): a busy day replans often.
    """
    # Serialize writers of one site (a second service instance would otherwise race for the version).
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('schedule_plan:' || %s))", (header.site_id,))
    row = conn.execute("SELECT COALESCE(max(version), 0) FROM schedule_plan WHERE site_id = %s", (header.site_id,))
    found = row.fetchone()
    version = int(found[0] if found else 0) + 1
    plan_id = plan_id_for(header.site_id, version)
    conn.execute("UPDATE schedule_plan SET is_current = false WHERE site_id = %s AND is_current", (header.site_id,))
    conn.execute(
        """
        INSERT INTO schedule_plan (plan_id, site_id, version, created_at, trigger, status, weighted_tardiness,
                                   makespan_end, solve_s, is_current)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, true)
        """,
        (
            plan_id,
            header.site_id,
            version,
            header.created_at,
            header.trigger[:1000],
            header.status,
            header.weighted_tardiness,
            header.makespan_end,
            header.solve_s,
        ),
    )
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO scheduled_operation (plan_id, work_order_id, seq, machine_id, start_ts, end_ts, frozen, late)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
            """,
            [
                (
                    plan_id,
                    o.work_order_id,
                    o.seq,
                    o.machine_id,
                    o.start,
                    o.end,
                    o.frozen,
                    o.end > due_by_work_order[o.work_order_id],
                )
                for o in ops
            ],
        )
        cur.executemany(
            """
            INSERT INTO planned_order (plan_id, order_id, customer_id, due, projected, late, cause)
            VALUES (%s, %s, %s, %s, %s, %s, %s)
            """,
            [(plan_id, p.order_id, p.customer_id, p.due, p.projected, p.late, p.cause) for p in projections],
        )
    conn.execute(
        "DELETE FROM schedule_plan WHERE site_id = %s AND version <= %s", (header.site_id, version - keep_plans)
    )
    return plan_id, version
