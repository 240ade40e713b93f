"""A plausible order book for a plant: orders from its customers for its products, and their work orders.

A pure function of the plant, a seed and a time window, so the simulator, the rescheduler's tests and a
demo all get the same book from the same arguments. Orders arrive as a Poisson stream (380 a month in
the demo plant); a few customers place most of them; 10-15 % are rush orders with short lead times and
high priority. Quantities are sized so the longest operation of the routing takes a few hours, which
keeps the book plausible for any plant's standard times.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import Field

from shopfloor.events import Model, OrderLine, OrderPayload, OrderStatus, UtcDatetime, WoReleasedPayload
from shopfloor.plant import Customer, Plant, Product


class OrderBookSpec(Model):
    """The shape of the book; the defaults are the demo plant's story."""

    start: UtcDatetime
    # Orders created in [start - backlog_days, start + days); those before start are already approved.
    days: Annotated[float, Field(ge=0)] = 30.0
    backlog_days: Annotated[float, Field(ge=0)] = 14.0
    orders_per_month: Annotated[float, Field(gt=0)] = 380.0
    rush_share: Annotated[float, Field(ge=0, le=1)] = 0.12
    max_lines: Annotated[int, Field(ge=1, le=10)] = 3
    # Hours the longest operation of a line takes, log-normally spread around this median.
    median_op_hours: Annotated[float, Field(gt=0)] = 4.0
    lead_days: tuple[float, float] = (10.0, 25.0)
    rush_lead_days: tuple[float, float] = (2.0, 5.0)


@dataclass(frozen=True, slots=True)
class BookedOrder:
    """One order as first created, and the work orders its lines release into."""

    created_at: datetime
    order: OrderPayload
    work_orders: tuple[WoReleasedPayload, ...]


@dataclass(frozen=True, slots=True)
class OrderBook:
    orders: tuple[BookedOrder, ...]

    def work_orders(self) -> list[WoReleasedPayload]:
        return [wo for booked in self.orders for wo in booked.work_orders]

    def backlog(self, at: datetime) -> list[BookedOrder]:
        """Orders created before ``at``."""
        return [booked for booked in self.orders if booked.created_at < at]


def _customer_weights(customers: list[Customer], rng: random.Random) -> list[float]:
    # A few customers place most of the orders (Pareto-like); strategic ones order more.
    return [rng.paretovariate(1.2) * (3.0 if c.strategic else 1.0) for c in customers]


def _quantity(product: Product, spec: OrderBookSpec, rng: random.Random) -> int:
    longest_unit_min = max(op.unit_min for op in product.routing)
    hours = spec.median_op_hours * math.exp(rng.gauss(0.0, 0.6))
    pieces = hours * 60.0 / longest_unit_min
    step = int(10 ** max(0, int(math.log10(max(pieces, 1.0))) - 1))  # round to two significant digits
    return max(step, int(round(pieces / step) * step))


def _priority(rush: bool, customer: Customer, rng: random.Random) -> int:
    if rush:
        return rng.choice([4, 5, 5])
    base = rng.choices([1, 2, 3, 4], weights=[1, 3, 5, 1])[0]
    return min(5, base + (1 if customer.strategic else 0))


def _book_one(
    plant: Plant, spec: OrderBookSpec, number: int, created: datetime, customer: Customer, rng: random.Random
) -> BookedOrder:
    rush = rng.random() < spec.rush_share
    lead = rng.uniform(*(spec.rush_lead_days if rush else spec.lead_days))
    due = (created + timedelta(days=lead)).replace(minute=0, second=0, microsecond=0)
    order_id = f"SO-{spec.start:%y%m}-{number:04d}"
    products = rng.sample(plant.products, k=min(len(plant.products), rng.randint(1, spec.max_lines)))
    lines = [
        OrderLine(
            line_no=i,
            product_id=p.id,
            quantity=_quantity(p, spec, rng),
            unit_price=Decimal(str(round(p.unit_price * rng.uniform(0.9, 1.15), 4))),
        )
        for i, p in enumerate(products, start=1)
    ]
    priority = _priority(rush, customer, rng)
    backlog = created < spec.start
    order = OrderPayload(
        order_id=order_id,
        version=1,
        customer_id=customer.id,
        lines=lines,
        due_date=due,
        priority=priority,
        rush=rush,
        status=OrderStatus.APPROVED if backlog else OrderStatus.DRAFT,
        project=f"PRJ-{rng.randint(100, 999)}" if rng.random() < 0.2 else None,
        channel=rng.choices(["sales", "portal", "edi"], weights=[6, 3, 1])[0],
        margin_pct=round(max(-10.0, min(60.0, rng.gauss(18.0, 9.0))), 1),
    )
    work_orders = tuple(
        WoReleasedPayload(
            work_order_id=f"WO-{order_id}-{line.line_no}",
            order_id=order_id,
            product_id=line.product_id,
            quantity=line.quantity,
            due_date=due,
            priority=priority,
            rush=rush,
            # Material is ready a little after the order: hours for rush orders, days otherwise.
            release_time=created + timedelta(hours=rng.uniform(0, 6 if rush else 48)),
            operations=plant.routing(line.product_id),
        )
        for line in lines
    )
    return BookedOrder(created, order, work_orders)


def generate_order_book(plant: Plant, spec: OrderBookSpec, seed: int) -> OrderBook:
    """Orders created in ``[spec.start - backlog_days, spec.start + days)``, in creation order."""
    if not plant.products or not plant.customers:
        return OrderBook(())
    rng = random.Random(f"orderbook:{seed}")
    weights = _customer_weights(plant.customers, rng)
    per_hour = spec.orders_per_month / (30.0 * 24.0)
    at = spec.start - timedelta(days=spec.backlog_days)
    end = spec.start + timedelta(days=spec.days)
    booked: list[BookedOrder] = []
    while True:
        at += timedelta(hours=rng.expovariate(per_hour))
        if at >= end:
            break
        customer = rng.choices(plant.customers, weights=weights)[0]
        booked.append(_book_one(plant, spec, len(booked) + 1, at.replace(microsecond=0), customer, rng))
    return OrderBook(tuple(booked))
