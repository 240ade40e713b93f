"""The order pages' queries: the pool with filters, and one order with versions, work orders and its plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dashboards.models_plan import OrderDetail, OrderOperation, OrderRow, OrderVersion, OrderWorkOrder
from shopfloor.db.pool import Connection
from shopfloor.plant import Plant


@dataclass(frozen=True, slots=True)
class PoolFilter:
    status: str | None = None
    customer_id: str | None = None
    rush: bool | None = None
    late: bool | None = None
    search: str | None = None
    limit: int = 200


_POOL = """
SELECT c.order_id, c.customer_id, c.status, c.priority, c.rush, c.due_date, po.projected, coalesce(po.late, false),
       coalesce((SELECT sum(quantity) FROM order_line l WHERE l.order_id = c.order_id), 0), c.channel
FROM customer_order c
LEFT JOIN schedule_plan p ON p.is_current AND p.site_id = %(site)s
LEFT JOIN planned_order po ON po.plan_id = p.plan_id AND po.order_id = c.order_id
WHERE (%(order)s::text IS NULL OR c.order_id = %(order)s)
  AND (%(status)s::text IS NULL OR c.status = %(status)s)
  AND (%(customer)s::text IS NULL OR c.customer_id = %(customer)s)
  AND (%(rush)s::boolean IS NULL OR c.rush = %(rush)s)
  AND (%(late)s::boolean IS NULL OR coalesce(po.late, false) = %(late)s)
  AND (%(search)s::text IS NULL OR c.order_id ILIKE '%%' || %(search)s || '%%'
       OR c.customer_id ILIKE '%%' || %(search)s || '%%')
ORDER BY c.due_date, c.order_id
LIMIT %(limit)s
"""


def _row(r: tuple[Any, ...]) -> OrderRow:
    return OrderRow(
        order_id=str(r[0]),
        customer_id=str(r[1]),
        status=str(r[2]),
        priority=int(r[3]),
        rush=bool(r[4]),
        due_date=r[5],
        projected=r[6],
        late=bool(r[7]),
        quantity=int(r[8]),
        channel=str(r[9]),
    )


def pool(conn: Connection, plant: Plant, f: PoolFilter) -> list[OrderRow]:
    params = {
        "site": plant.site_id,
        "order": None,
        "status": f.status,
        "customer": f.customer_id,
        "rush": f.rush,
        "late": f.late,
        "search": f.search or None,
        "limit": f.limit,
    }
    return [_row(r) for r in conn.execute(_POOL, params).fetchall()]


def order_detail(conn: Connection, plant: Plant, order_id: str) -> OrderDetail | None:
    params = {"site": plant.site_id, "order": order_id, "status": None, "customer": None}
    rows = conn.execute(_POOL, params | {"rush": None, "late": None, "search": None, "limit": 1}).fetchall()
    if not rows:
        return None
    order = _row(rows[0])
    head = conn.execute("SELECT project FROM customer_order WHERE order_id = %s", (order_id,)).fetchone()
    plan = conn.execute(
        "SELECT po.cause, p.plan_id FROM schedule_plan p LEFT JOIN planned_order po"
        " ON po.plan_id = p.plan_id AND po.order_id = %s WHERE p.is_current AND p.site_id = %s",
        (order_id, plant.site_id),
    ).fetchone()
    plan_id = plan[1] if plan else None
    versions = [
        OrderVersion(version=int(r[0]), event_type=str(r[1]), recorded_at=r[2], snapshot=dict(r[3]))
        for r in conn.execute(
            "SELECT version, event_type, recorded_at, snapshot FROM order_version WHERE order_id = %s ORDER BY version",
            (order_id,),
        ).fetchall()
    ]
    work_orders = []
    for w in conn.execute(
        "SELECT work_order_id, product_id, quantity, status, good, scrap FROM work_order"
        " WHERE order_id = %s ORDER BY work_order_id",
        (order_id,),
    ).fetchall():
        ops = [
            OrderOperation(
                seq=int(o[0]),
                name=str(o[1]),
                workcenter_id=str(o[2]),
                status=str(o[3]),
                machine_id=o[4],
                good=int(o[5]),
                scrap=int(o[6]),
                planned_machine_id=o[7],
                planned_start=o[8],
                planned_end=o[9],
            )
            for o in conn.execute(
                "SELECT o.seq, o.name, o.workcenter_id, o.status, o.machine_id, o.good, o.scrap,"
                " so.machine_id, so.start_ts, so.end_ts FROM operation o"
                " LEFT JOIN scheduled_operation so ON so.plan_id = %s AND so.work_order_id = o.work_order_id"
                " AND so.seq = o.seq WHERE o.work_order_id = %s ORDER BY o.seq",
                (plan_id, w[0]),
            ).fetchall()
        ]
        work_orders.append(
            OrderWorkOrder(
                work_order_id=str(w[0]),
                product_id=str(w[1]),
                quantity=int(w[2]),
                status=str(w[3]),
                good=int(w[4]),
                scrap=int(w[5]),
                operations=ops,
            )
        )
    return OrderDetail(
        order=order,
        project=head[0] if head else None,
        promise_date=order.due_date,
        projected_completion=order.projected,
        cause=str(plan[0]) if plan and plan[0] else "",
        versions=versions,
        work_orders=work_orders,
    )


_DIGEST = """
SELECT (SELECT count(*) FROM customer_order), (SELECT max(updated_at) FROM customer_order),
       (SELECT max(updated_at) FROM work_order), (SELECT max(updated_at) FROM operation),
       (SELECT plan_id FROM schedule_plan WHERE is_current AND site_id = %s)
"""


def digest(conn: Connection, plant: Plant) -> str:
    """Changes whenever an order, work order, operation or the current plan does: the order pages refetch."""
    row = conn.execute(_DIGEST, (plant.site_id,)).fetchone()
    return "|".join(str(v) for v in (row or ()))
