"""The hub's routers, one per resource or audience."""

from orders.routes import approvals, orders

__all__ = ["approvals", "orders"]
