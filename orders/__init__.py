"""The order hub: orders API and channel webhooks, approval rules, versions, work orders, events."""

from orders.app import make_app
from orders.hub import HubError, OrderHub
from orders.settings import OrdersSettings

__all__ = ["HubError", "OrderHub", "OrdersSettings", "make_app"]
