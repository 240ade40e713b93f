"""The hub's routers, one per resource or audience."""

from orders.routes import approvals, channels, orders

__all__ = ["approvals", "channels", "orders"]
