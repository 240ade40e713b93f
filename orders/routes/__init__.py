"""The hub's routers, one per resource or audience."""

from orders.routes import approvals, changes, channels, orders

__all__ = ["approvals", "changes", "channels", "orders"]
