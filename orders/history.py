"""Reading an order's history: its versions, the diff of any two, its changes with their impact reports."""

from __future__ import annotations

from orders import store
from orders.changes import ChangeOut
from orders.errors import HubError
from orders.hub import OrderHub
from orders.models import OrderSnapshot, VersionDiff, VersionOut
from orders.versions import diff


def versions(hub: OrderHub, order_id: str) -> list[VersionOut]:
    with hub.pool.connection() as conn:
        found = store.versions(conn, order_id)
    if not found:
        raise HubError(404, f"no order {order_id!r}")
    return found


def diff_versions(hub: OrderHub, order_id: str, a: int, b: int) -> VersionDiff:
    by_version = {v.version: v for v in versions(hub, order_id)}
    missing = [str(v) for v in (a, b) if v not in by_version]
    if missing:
        raise HubError(404, f"order {order_id} has no version {', '.join(missing)}")
    old = OrderSnapshot.model_validate(by_version[a].snapshot)
    new = OrderSnapshot.model_validate(by_version[b].snapshot)
    return diff(old, new)


def list_changes(hub: OrderHub, order_id: str) -> list[ChangeOut]:
    with hub.pool.connection() as conn:
        if store.current(conn, order_id) is None:
            raise HubError(404, f"no order {order_id!r}")
        return hub.changes.load(conn, order_id)
