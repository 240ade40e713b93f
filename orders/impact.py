"""The impact report of a customer change to an order in production: work orders by state, operations to
re-plan and the new projected completion (the rescheduler's capable-to-promise), material already issued,
project deliveries at risk, the amount and whether payment terms change; and who must sign off."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Literal

from orders.approval import TotalOverRule
from orders.config import HubConfig
from orders.ctp_client import CtpClient, CtpUnavailableError
from orders.models import FieldChange, OrderSnapshot
from orders.versions import diff
from shopfloor.db.pool import Connection
from shopfloor.events import Model, UtcDatetime
from shopfloor.plant import Plant

WoState = Literal["not_started", "in_progress", "done"]
_STATE: dict[str, WoState] = {
    "released": "not_started",
    "started": "in_progress",
    "paused": "in_progress",
    "done": "done",
}


class WorkOrderImpact(Model):
    work_order_id: str
    product_id: str
    quantity: int
    state: WoState
    good: int
    scrap: int


class ReplanOperation(Model):
    work_order_id: str
    seq: int
    workcenter_id: str
    status: str


class MaterialIssued(Model):
    work_order_id: str
    material_id: str
    quantity: float
    unit: str


class ProjectDelivery(Model):
    order_id: str
    due_date: UtcDatetime
    reason: str


class ImpactReport(Model):
    order_id: str
    from_version: int
    kind: Literal["change", "hold"]
    changes: list[FieldChange]
    work_orders: list[WorkOrderImpact]
    work_orders_not_started: list[str]
    work_orders_in_progress: list[str]
    work_orders_done: list[str]
    operations_to_replan: list[ReplanOperation]
    projected_completion: UtcDatetime | None
    projection_plan_id: str | None
    projection_note: str
    material_issued: list[MaterialIssued]
    project_deliveries_at_risk: list[ProjectDelivery]
    amount_before: Decimal
    amount_after: Decimal
    amount_delta: Decimal
    payment_terms_change: bool
    payment_terms_reason: str
    conditions: list[str]
    departments: list[str]


def in_production(conn: Connection, order_id: str) -> bool:
    """Whether any of the order's work has begun (an operation started, paused or done)."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM operation p JOIN work_order w USING (work_order_id) "
        "WHERE w.order_id = %s AND w.status <> 'cancelled' AND p.status <> 'pending')",
        (order_id,),
    ).fetchone()
    return bool(row and row[0])


def _work_orders(conn: Connection, order_id: str) -> list[WorkOrderImpact]:
    rows = conn.execute(
        "SELECT work_order_id, product_id, quantity, status, good, scrap FROM work_order "
        "WHERE order_id = %s AND status <> 'cancelled' ORDER BY work_order_id",
        (order_id,),
    ).fetchall()
    return [
        WorkOrderImpact(work_order_id=r[0], product_id=r[1], quantity=r[2], state=_STATE[r[3]], good=r[4], scrap=r[5])
        for r in rows
    ]


def _payment_terms(config: HubConfig, before: Decimal, after: Decimal) -> tuple[bool, str]:
    for rule in config.approval_rules:
        if isinstance(rule, TotalOverRule) and (before > rule.threshold) != (after > rule.threshold):
            return True, f"the total crosses {rule.threshold:,.2f} ({rule.step})"
    if before and abs(after - before) > before * Decimal(str(config.payment_terms_change_share)):
        return True, f"the total changes by more than {config.payment_terms_change_share:.0%}"
    return False, ""


class ImpactAnalyst:
    def __init__(self, plant: Plant, config: HubConfig, ctp: CtpClient) -> None:
        self._plant = plant
        self._config = config
        self._ctp = ctp

    def _projection(
        self, new: OrderSnapshot, wos: list[WorkOrderImpact], hold: bool
    ) -> tuple[datetime | None, str | None, str]:
        if hold:
            return None, None, "on hold: no completion until released"
        good = {w.work_order_id: w.good for w in wos if w.state != "done"}
        done = {w.work_order_id for w in wos if w.state == "done"}
        latest: datetime | None = None
        plan_id: str | None = None
        try:
            for line in new.lines:
                wo_id = f"WO-{new.order_id}-{line.line_no}"
                if wo_id in done:
                    continue
                remaining = max(1, line.quantity - good.get(wo_id, 0))
                answer = self._ctp.promise(
                    line.product_id, remaining, new.customer_id, rush=new.rush, margin_pct=new.margin_pct
                )
                plan_id = answer.plan_id
                latest = answer.completion if latest is None else max(latest, answer.completion)
        except CtpUnavailableError as exc:
            return None, None, str(exc)
        return latest, plan_id, "remaining quantity of each open line promised on the current plan"

    def report(
        self, conn: Connection, old: OrderSnapshot, new: OrderSnapshot, kind: Literal["change", "hold"]
    ) -> ImpactReport:
        changes = [c for c in diff(old, new, ignore=("version",)).changes]
        wos = _work_orders(conn, old.order_id)
        open_wos = [w.work_order_id for w in wos if w.state != "done"]
        ops = conn.execute(
            "SELECT work_order_id, seq, workcenter_id, status FROM operation WHERE work_order_id = ANY(%s) "
            "AND status <> 'done' ORDER BY work_order_id, seq",
            (open_wos,),
        ).fetchall()
        first_op: dict[str, str] = dict(
            conn.execute(
                "SELECT DISTINCT ON (work_order_id) work_order_id, status FROM operation WHERE work_order_id = ANY(%s) "
                "ORDER BY work_order_id, seq",
                ([w.work_order_id for w in wos],),
            ).fetchall()
        )
        issued = []
        for w in wos:
            if first_op.get(w.work_order_id, "pending") != "pending":
                product = self._plant.product(w.product_id)
                material = self._plant.material(product.material_id)
                issued.append(
                    MaterialIssued(
                        work_order_id=w.work_order_id,
                        material_id=material.id,
                        quantity=round(product.material_per_pc * w.quantity, 3),
                        unit=material.unit,
                    )
                )
        completion, plan_id, note = self._projection(new, wos, kind == "hold")
        at_risk = self._project_at_risk(conn, new, completion, kind == "hold")
        before, after = old.total, new.total
        terms, terms_reason = _payment_terms(self._config, before, after)
        fields = {c.field for c in changes}
        conditions = {
            "always": True,
            "work_in_progress": any(w.state != "not_started" for w in wos),
            "amount_changed": before != after,
            "payment_terms_change": terms,
            "material_issued": bool(issued),
            "project_at_risk": bool(at_risk),
            "quantity_changed": any(f.endswith(".quantity") for f in fields),
            "product_changed": any(f.endswith(".product_id") for f in fields),
            "due_date_changed": "due_date" in fields,
            "hold": kind == "hold",
        }
        held = sorted(k for k, v in conditions.items() if v)
        departments = [d.department for d in self._config.change_signoff if any(conditions[c] for c in d.when)]
        by_state: dict[str, list[str]] = defaultdict(list)
        for w in wos:
            by_state[w.state].append(w.work_order_id)
        return ImpactReport(
            order_id=old.order_id,
            from_version=old.version,
            kind=kind,
            changes=changes,
            work_orders=wos,
            work_orders_not_started=by_state["not_started"],
            work_orders_in_progress=by_state["in_progress"],
            work_orders_done=by_state["done"],
            operations_to_replan=[
                ReplanOperation(work_order_id=r[0], seq=r[1], workcenter_id=r[2], status=r[3]) for r in ops
            ],
            projected_completion=completion,
            projection_plan_id=plan_id,
            projection_note=note,
            material_issued=issued,
            project_deliveries_at_risk=at_risk,
            amount_before=before,
            amount_after=after,
            amount_delta=after - before,
            payment_terms_change=terms,
            payment_terms_reason=terms_reason,
            conditions=held,
            departments=departments,
        )

    def _project_at_risk(
        self, conn: Connection, new: OrderSnapshot, completion: datetime | None, hold: bool
    ) -> list[ProjectDelivery]:
        """Deliveries of the order's project due before this order can now be complete (all, when held)."""
        if new.project is None or (completion is None and not hold):
            return []
        rows = conn.execute(
            "SELECT order_id, due_date FROM customer_order WHERE project = %s "
            "AND status NOT IN ('done', 'cancelled') ORDER BY due_date, order_id",
            (new.project,),
        ).fetchall()
        due = {r[0]: r[1] for r in rows}
        due[new.order_id] = new.due_date
        out = []
        for order_id, due_date in sorted(due.items(), key=lambda kv: (kv[1], kv[0])):
            if hold:
                out.append(ProjectDelivery(order_id=order_id, due_date=due_date, reason=f"{new.order_id} on hold"))
            elif completion is not None and due_date < completion:
                reason = f"{new.order_id} projected complete {completion:%Y-%m-%d %H:%M} UTC"
                out.append(ProjectDelivery(order_id=order_id, due_date=due_date, reason=reason))
        return out
