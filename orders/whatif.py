"""Rush-order what-if (``POST /orders/what-if``): what sales needs to say yes or no on the phone.

For a proposed order the hub asks the rescheduler, over HTTP, for the capable-to-promise date of each
line with the rush reserve (as a rush order) and without it (as a normal order), and which accepted
orders would become late, and by how much, if it were accepted (``POST /what-if``, a re-solve of the
current plan with the proposal in it). Nothing is written.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from orders.ctp_client import CtpUnavailableError
from orders.errors import HubError, field_error
from orders.hub import OrderHub
from orders.models import LineIn, Margin, Priority
from shopfloor.events import Ident, Model, UtcDatetime


class WhatIfIn(Model):
    """A proposed rush order (``customer_id`` and ``lines``), or a date change of an accepted order
    (``order_id``, its lines and customer taken from the order) to ``due_date``."""

    customer_id: Ident | None = None
    lines: Annotated[list[LineIn], Field(max_length=20)] = Field(default_factory=list)
    order_id: Ident | None = None
    due_date: UtcDatetime
    priority: Priority = 5
    margin_pct: Margin | None = None


class LinePromise(Model):
    line_no: int
    product_id: str
    quantity: int
    with_reserve: UtcDatetime
    without_reserve: UtcDatetime
    bottleneck: dict[str, Any]


class LateOrder(Model):
    order_id: str
    due_date: UtcDatetime
    completion_now: UtcDatetime
    completion_if_accepted: UtcDatetime
    late_by_hours: float


class WhatIfOut(Model):
    plan_id: str
    lines: list[LinePromise]
    # The whole order: its latest line.
    promise_with_reserve: UtcDatetime
    promise_without_reserve: UtcDatetime
    meets_due_with_reserve: bool
    meets_due_without_reserve: bool
    # If accepted (replan with it): when it would be done, and who would become late by how much.
    completion_if_accepted: UtcDatetime
    would_become_late: list[LateOrder]


def what_if(hub: OrderHub, proposal: WhatIfIn) -> WhatIfOut:
    if proposal.order_id is not None:
        order = hub.get(proposal.order_id)
        customer, lines, new = order.customer_id, list(order.lines), []
    elif proposal.customer_id is not None and proposal.lines:
        customer = proposal.customer_id
        lines = new = hub.check(proposal.customer_id, proposal.lines, {})
    else:
        raise HubError(
            422, [field_error(["lines"], "a new order needs customer_id and lines, or give order_id", "missing")]
        )
    try:
        promises = []
        for line in lines:
            rush = hub.ctp.promise(line.product_id, line.quantity, customer, rush=True, margin_pct=proposal.margin_pct)
            normal = hub.ctp.promise(
                line.product_id, line.quantity, customer, rush=False, margin_pct=proposal.margin_pct
            )
            promises.append((line, rush, normal))
        replan = hub.ctp.post(
            "/what-if",
            {
                "customer_id": customer,
                "order_id": proposal.order_id,
                "lines": [{"product_id": ln.product_id, "quantity": ln.quantity} for ln in new],
                "due_date": proposal.due_date.isoformat(),
                "priority": proposal.priority,
                "rush": True,
                "margin_pct": proposal.margin_pct,
            },
        )
    except CtpUnavailableError as exc:
        raise HubError(503, f"the rescheduler cannot answer: {exc}") from None
    with_reserve = max(r.completion for _, r, _ in promises)
    without_reserve = max(n.completion for _, _, n in promises)
    return WhatIfOut(
        plan_id=promises[0][1].plan_id,
        lines=[
            LinePromise(
                line_no=ln.line_no,
                product_id=ln.product_id,
                quantity=ln.quantity,
                with_reserve=r.completion,
                without_reserve=n.completion,
                bottleneck=r.bottleneck,
            )
            for ln, r, n in promises
        ],
        promise_with_reserve=with_reserve,
        promise_without_reserve=without_reserve,
        meets_due_with_reserve=with_reserve <= proposal.due_date,
        meets_due_without_reserve=without_reserve <= proposal.due_date,
        completion_if_accepted=replan["proposal_completion"],
        would_become_late=[LateOrder.model_validate(o) for o in replan["would_become_late"]],
    )
