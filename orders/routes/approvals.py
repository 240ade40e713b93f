"""``/orders/{id}/approve``: the people the approval rules name sign their steps.

The router lets through every role a rule may ask for; which pending steps a caller signs follows from
the steps' required roles (``order_approval_step.required_role``), so a finance token signs the finance
review and nothing else, and an order with no step for the caller answers 403 naming who is pending.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from orders.models import ApproveIn, OrderOut
from orders.routes.deps import Hub, OrderId, problems
from shopfloor.auth import CurrentPrincipal, Role, require

router = APIRouter(
    prefix="/orders",
    tags=["approvals"],
    dependencies=[Depends(require(Role.PLANNER, Role.MANAGER, Role.FINANCE, Role.ENGINEERING, Role.SALES))],
)


@router.post("/{order_id}/approve", responses=problems(403, 404, 409, 422))
def approve_order(order_id: OrderId, body: ApproveIn, hub: Hub, principal: CurrentPrincipal) -> OrderOut:
    """Sign the pending approval steps the caller's roles may sign (or only ``steps``). When none is left
    the order is approved and released into work orders by its products' routings."""
    return hub.approve(order_id, principal, body.steps)
