"""The simulated plant's orders, sent through the order hub as its sales channels would.

Before the run the backlog (orders created before the simulated start) goes in through the orders API
and is approved (a token with the approving roles); during the run each later order is sent when the
simulated clock reaches its creation: rush orders as the marketplace's signed webhook, the others through
the API, and every tenth order then gets a due-date change. The hub numbers the orders, so the simulator
learns each order's work-order ids from the hub's answers (``aliases``) and scans those.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from edge.sim.orderbook import BookedOrder, OrderBook, OrderBookSpec, generate_order_book
from shopfloor.auth import signed_headers
from shopfloor.plant import Plant

log = logging.getLogger(__name__)

MARKETPLACE = "marketplace"


def sim_order_book(plant: Plant, start: datetime, days: float, seed: int) -> OrderBook:
    """The book the simulator works from for this start, span and seed."""
    return generate_order_book(plant, OrderBookSpec(start=start, days=days), seed)


def api_body(booked: BookedOrder) -> dict[str, Any]:
    o = booked.order
    return {
        "customer_id": o.customer_id,
        "lines": [
            {"product_id": ln.product_id, "quantity": ln.quantity, "unit_price": str(ln.unit_price)} for ln in o.lines
        ],
        "due_date": o.due_date.isoformat(),
        "priority": o.priority,
        "rush": o.rush,
        "project": o.project,
        "channel": o.channel,
        "external_id": o.order_id,
        "margin_pct": o.margin_pct,
    }


def marketplace_body(booked: BookedOrder) -> dict[str, Any]:
    """The order as a marketplace webhook would carry it (orders/channels/marketplace.yaml)."""
    o = booked.order
    return {
        "id": o.order_id,
        "customer": {"b2b_account": o.customer_id, "note": ""},
        "shipping_lines": [{"code": "express" if o.rush else "standard", "promised_by": o.due_date.isoformat()}],
        "line_items": [{"sku": ln.product_id, "quantity": ln.quantity, "price": str(ln.unit_price)} for ln in o.lines],
        "project_reference": o.project,
    }


class HubFeed:
    def __init__(
        self, url: str, token: str, channel_secret: str, *, now: Callable[[], float] = time.time, timeout_s: float = 30
    ) -> None:
        self._client = httpx.Client(
            base_url=url.rstrip("/"), timeout=timeout_s, headers={"Authorization": f"Bearer {token}"}
        )
        self._secret = channel_secret.encode()
        self._now = now
        # Book work-order id -> the hub's work-order id, read by the simulator when it scans.
        self.aliases: dict[str, str] = {}
        self.sent = self.changed = self.failed = 0

    def _approve(self, order: dict[str, Any]) -> dict[str, Any]:
        if order["status"] == "pending_approval":
            response = self._client.post(f"/orders/{order['order_id']}/approve", json={})
            response.raise_for_status()
            answer: dict[str, Any] = response.json()
            return answer
        return order

    def _existing(self, booked: BookedOrder, channel: str) -> dict[str, Any] | None:
        params: dict[str, str | int] = {"channel": channel, "external_id": booked.order.order_id, "limit": 1}
        items = self._client.get("/orders", params=params).json()["items"]
        return items[0] if items else None

    def send(self, booked: BookedOrder) -> dict[str, Any]:
        """Create (or find, on a re-run) the order, approve it, and learn its work-order ids."""
        if booked.order.rush:
            channel = MARKETPLACE
            body = json.dumps(marketplace_body(booked)).encode()
            headers = {"Content-Type": "application/json", **signed_headers(self._secret, int(self._now()), body)}
            response = self._client.post(f"/channels/{MARKETPLACE}/orders", content=body, headers=headers)
        else:
            channel = booked.order.channel
            response = self._client.post("/orders", json=api_body(booked))
        if response.status_code == 409 and (found := self._existing(booked, channel)) is not None:
            order = found
        else:
            response.raise_for_status()
            order = response.json()
        order = self._approve(order)
        for line, wo in zip(booked.order.lines, booked.work_orders, strict=True):
            self.aliases[wo.work_order_id] = f"WO-{order['order_id']}-{line.line_no}"
        self.sent += 1
        return order

    def send_backlog(self, book: OrderBook, at: datetime) -> int:
        backlog = book.backlog(at)
        for booked in backlog:
            self.send(booked)
        return len(backlog)

    def change_due_date(self, order_id: str, due: datetime) -> None:
        response = self._client.patch(f"/orders/{order_id}", json={"due_date": due.isoformat()})
        if response.status_code in (200, 202):
            self.changed += 1

    def follow(self, book: OrderBook, start: datetime, speed: float, stop: threading.Event) -> threading.Thread:
        """Send the orders created after ``start`` as the simulated clock reaches them (in a thread)."""
        later = [b for b in book.orders if b.created_at >= start]
        t0 = time.monotonic()

        def run() -> None:
            for i, booked in enumerate(later, start=1):
                wait = t0 + (booked.created_at - start).total_seconds() / speed - time.monotonic()
                if wait > 0 and stop.wait(wait):
                    return
                try:
                    order = self.send(booked)
                    if i % 10 == 0:  # the customer moves the date: a change through the hub
                        self.change_due_date(order["order_id"], booked.order.due_date + timedelta(days=1))
                except httpx.HTTPError as exc:
                    self.failed += 1
                    log.warning("order %s not taken by the hub: %s", booked.order.order_id, exc)

        thread = threading.Thread(target=run, name="sim-hub-feed", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self._client.close()
