"""``/orders``: sales and managers create and change orders; every office role reads them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status

from orders import history, store
from orders.models import OrderIn, OrderOut, OrderPage, OrderPatch, Reason, VersionDiff, VersionOut
from orders.routes.deps import Hub, OrderId, problems
from orders.whatif import WhatIfIn, WhatIfOut, what_if
from shopfloor.auth import CurrentPrincipal, Role, require
from shopfloor.events import UtcDatetime

READERS = (Role.SALES, Role.PLANNER, Role.MANAGER, Role.FINANCE, Role.ENGINEERING)
WRITERS = (Role.SALES, Role.MANAGER)

readers = APIRouter(prefix="/orders", tags=["orders"], dependencies=[Depends(require(*READERS))])
promisers = APIRouter(
    prefix="/orders", tags=["what-if"], dependencies=[Depends(require(Role.SALES, Role.PLANNER, Role.MANAGER))]
)
writers = APIRouter(prefix="/orders", tags=["orders"], dependencies=[Depends(require(*WRITERS))])

StatusName = Annotated[
    str | None,
    Query(pattern=r"^(draft|pending_approval|approved|in_production|on_hold|done|cancelled)$"),
]
Text = Annotated[str | None, Query(max_length=64)]
VersionNo = Annotated[int, Path(ge=1, le=1_000_000)]


@writers.post("", status_code=status.HTTP_201_CREATED, responses=problems(409, 422))
def create_order(order: OrderIn, hub: Hub, principal: CurrentPrincipal) -> OrderOut:
    """Take an order in: checked, numbered (SO-<year>-<serial>), versioned, routed to its approval steps."""
    return hub.create(order, principal.name)


@promisers.post("/what-if", responses={**problems(422), 503: {"description": "The rescheduler cannot answer."}})
def rush_what_if(proposal: WhatIfIn, hub: Hub) -> WhatIfOut:
    """Rush-order what-if: the promise date with and without the rush reserve, and which accepted orders
    would become late, and by how much, if this order were accepted (asks the rescheduler; writes nothing)."""
    return what_if(hub, proposal)


@readers.get("", responses=problems(422))
def list_orders(
    hub: Hub,
    status: StatusName = None,
    customer_id: Text = None,
    channel: Text = None,
    project: Text = None,
    external_id: Text = None,
    rush: bool | None = None,
    due_after: Annotated[UtcDatetime | None, Query()] = None,
    due_before: Annotated[UtcDatetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> OrderPage:
    """Orders matching every filter given, newest first, one page at a time."""
    filters = store.Filters(status, customer_id, channel, project, rush, due_after, due_before, external_id)
    return hub.list_orders(filters, limit, offset)


@readers.get("/{order_id}", responses=problems(404))
def read_order(order_id: OrderId, hub: Hub) -> OrderOut:
    """The current version, its approval steps (who signed and when, who is pending) and work orders."""
    return hub.get(order_id)


@readers.get("/{order_id}/versions", responses=problems(404))
def order_versions(order_id: OrderId, hub: Hub) -> list[VersionOut]:
    """Every version of the order, oldest first; versions are never changed."""
    return history.versions(hub, order_id)


@readers.get("/{order_id}/versions/{a}/diff/{b}", responses=problems(404))
def diff_versions(order_id: OrderId, a: VersionNo, b: VersionNo, hub: Hub) -> VersionDiff:
    """What changed from version ``a`` to version ``b``, field by field."""
    return history.diff_versions(hub, order_id, a, b)


DEFERRED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": OrderOut,
        "description": "A customer change to an order in production: it waits for "
        "the sign-off of every department its impact report concerns (see pending_changes).",
    }
}


@writers.patch("/{order_id}", responses={**problems(404, 409, 422), **DEFERRED})
def update_order(
    order_id: OrderId, patch: OrderPatch, hub: Hub, principal: CurrentPrincipal, response: Response
) -> OrderOut:
    """Change an order; a new version records it. A change of lines or due date to an order whose work
    has begun makes an impact report and waits for sign-off instead (202)."""
    out, deferred = hub.update(order_id, patch, principal.name)
    if deferred:
        response.status_code = status.HTTP_202_ACCEPTED
    return out


@writers.post("/{order_id}/hold", responses={**problems(404, 409, 422), **DEFERRED})
def hold_order(order_id: OrderId, body: Reason, hub: Hub, principal: CurrentPrincipal, response: Response) -> OrderOut:
    """Put an order on hold: it is not planned until released (after sign-off when in production: 202)."""
    out, deferred = hub.hold(order_id, body.reason, principal.name)
    if deferred:
        response.status_code = status.HTTP_202_ACCEPTED
    return out


@writers.post("/{order_id}/release", responses=problems(404, 409))
def release_order(order_id: OrderId, hub: Hub, principal: CurrentPrincipal) -> OrderOut:
    """Take an order off hold, back to the status it had."""
    return hub.release_hold(order_id, principal.name)


@writers.post("/{order_id}/cancel", responses=problems(404, 409, 422))
def cancel_order(order_id: OrderId, body: Reason, hub: Hub, principal: CurrentPrincipal) -> OrderOut:
    """Cancel an order and its work orders that are not done."""
    return hub.cancel(order_id, body.reason, principal.name)
