"""``/orders/{id}/changes``: customer changes to orders in production, their impact reports, and the
departments' sign-off. Which departments a caller signs for follows from their required roles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from orders import history
from orders.changes import ChangeOut, SignIn
from orders.models import OrderOut
from orders.routes.deps import Hub, OrderId, problems
from shopfloor.auth import CurrentPrincipal, Role
from shopfloor.auth import require as needs

DEPARTMENT_ROLES = (Role.PLANNER, Role.MANAGER, Role.PURCHASING, Role.FINANCE, Role.SALES, Role.ENGINEERING)

router = APIRouter(prefix="/orders", tags=["changes"], dependencies=[Depends(needs(*DEPARTMENT_ROLES))])

ChangeId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/{order_id}/changes", responses=problems(404))
def order_changes(order_id: OrderId, hub: Hub) -> list[ChangeOut]:
    """Every change request of the order with its impact report and who signed, who is pending."""
    return history.list_changes(hub, order_id)


@router.post("/{order_id}/changes/{change_id}/signoff", responses=problems(403, 404, 409, 422))
def sign_off(order_id: OrderId, change_id: ChangeId, body: SignIn, hub: Hub, principal: CurrentPrincipal) -> OrderOut:
    """Sign off for the caller's pending departments (or only ``departments``); the last one applies it."""
    return hub.sign_change(order_id, change_id, principal, body.departments)


@router.post("/{order_id}/changes/{change_id}/reject", responses=problems(403, 404, 409))
def reject(order_id: OrderId, change_id: ChangeId, hub: Hub, principal: CurrentPrincipal) -> OrderOut:
    """Refuse the change (a pending department): it is closed and never applied."""
    return hub.reject_change(order_id, change_id, principal)
