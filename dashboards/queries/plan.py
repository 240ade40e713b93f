"""The Gantt's queries: the current plan's operations with their orders, and what moved since the last plan."""

from __future__ import annotations

from datetime import timedelta

from dashboards.models_plan import Change, Gantt, GanttOp
from shopfloor.db.pool import Connection
from shopfloor.plant import Plant

# Starts closer than this to the previous plan's count as unchanged (re-solves jitter by seconds).
MOVED_AFTER = timedelta(minutes=1)

_OPS = """
SELECT so.work_order_id, so.seq, coalesce(o.name, ''), so.machine_id, so.start_ts, so.end_ts, so.frozen, so.late,
       coalesce(w.rush, false), w.order_id, c.customer_id, w.due_date
FROM scheduled_operation so
LEFT JOIN work_order w USING (work_order_id)
LEFT JOIN operation o ON o.work_order_id = so.work_order_id AND o.seq = so.seq
LEFT JOIN customer_order c ON c.order_id = w.order_id
WHERE so.plan_id = %s
ORDER BY so.machine_id, so.start_ts, so.work_order_id, so.seq
"""


def gantt(conn: Connection, plant: Plant) -> Gantt:
    current = conn.execute(
        "SELECT plan_id, version, created_at FROM schedule_plan WHERE site_id = %s AND is_current", (plant.site_id,)
    ).fetchone()
    machines = [m.id for m in plant.all_machines()]
    if current is None:
        return Gantt(
            plan_id=None,
            version=None,
            created_at=None,
            previous_version=None,
            machines=machines,
            operations=[],
            removed=[],
        )
    plan_id, version, created_at = current
    previous = conn.execute(
        "SELECT plan_id, version FROM schedule_plan WHERE site_id = %s AND version < %s ORDER BY version DESC LIMIT 1",
        (plant.site_id, version),
    ).fetchone()
    before = {}
    if previous is not None:
        before = {
            (str(r[0]), int(r[1])): (str(r[2]), r[3])
            for r in conn.execute(
                "SELECT work_order_id, seq, machine_id, start_ts FROM scheduled_operation WHERE plan_id = %s",
                (previous[0],),
            ).fetchall()
        }
    ops = []
    for r in conn.execute(_OPS, (plan_id,)).fetchall():
        key = (str(r[0]), int(r[1]))
        old = before.pop(key, None)
        change: Change
        if old is None:
            change = "new" if previous is not None else "same"
        elif old[0] != r[3] or abs(old[1] - r[4]) >= MOVED_AFTER:
            change = "moved"
        else:
            change = "same"
        ops.append(
            GanttOp(
                work_order_id=key[0],
                seq=key[1],
                name=str(r[2]),
                machine_id=str(r[3]),
                start=r[4],
                end=r[5],
                frozen=bool(r[6]),
                late=bool(r[7]),
                rush=bool(r[8]),
                order_id=r[9],
                customer_id=r[10],
                due=r[11],
                change=change,
                previous_machine_id=old[0] if old else None,
                previous_start=old[1] if old else None,
            )
        )
    known = set(machines)
    machines += sorted({op.machine_id for op in ops} - known)
    return Gantt(
        plan_id=str(plan_id),
        version=int(version),
        created_at=created_at,
        previous_version=int(previous[1]) if previous else None,
        machines=machines,
        operations=ops,
        removed=sorted(f"{wo}/{seq}" for wo, seq in before),
    )
