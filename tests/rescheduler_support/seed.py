"""Seeding an order book from the demo plant, through shopfloor.db.state as the order hub does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shopfloor.db.pool import Connection
from shopfloor.db.state import upsert_order, upsert_work_order
from shopfloor.events import OrderLine, OrderPayload, OrderStatus, WoReleasedPayload
from shopfloor.plant import Plant
from shopfloor.settings import PROJECT_ROOT

DEMO_PLANT: Path = PROJECT_ROOT / "infra" / "plants" / "demo.yaml"


@dataclass(frozen=True)
class OrderSpec:
    order_id: str
    product_id: str
    quantity: int
    due: datetime
    customer_id: str = "CUST-001"
    priority: int = 3

    @property
    def work_order_id(self) -> str:
        return f"WO-{self.order_id}"


def seed_order(conn: Connection, plant: Plant, spec: OrderSpec, version: int = 1) -> None:
    """An approved order with one line and its released work order (the product's routing)."""
    upsert_order(
        conn,
        OrderPayload(
            order_id=spec.order_id,
            version=version,
            customer_id=spec.customer_id,
            lines=[OrderLine(line_no=1, product_id=spec.product_id, quantity=spec.quantity)],
            due_date=spec.due,
            priority=spec.priority,
            status=OrderStatus.APPROVED,
        ),
        "order.approved",
    )
    upsert_work_order(
        conn,
        WoReleasedPayload(
            work_order_id=spec.work_order_id,
            order_id=spec.order_id,
            product_id=spec.product_id,
            quantity=spec.quantity,
            due_date=spec.due,
            priority=spec.priority,
            operations=plant.routing(spec.product_id),
        ),
    )
    conn.commit()


def late_orders(conn: Connection, plan_id: str, min_slip_hours: float) -> set[str]:
    """Orders late in a stored plan, computed straight from the tables (independently of the service)."""
    rows = conn.execute(
        """
        SELECT w.order_id
        FROM scheduled_operation s JOIN work_order w USING (work_order_id) JOIN customer_order o USING (order_id)
        WHERE s.plan_id = %s
        GROUP BY w.order_id, o.due_date
        HAVING max(s.end_ts) > o.due_date + make_interval(secs => %s)
        """,
        (plan_id, min_slip_hours * 3600),
    ).fetchall()
    conn.commit()
    return {r[0] for r in rows}
