"""The order book generator: plausible, reproducible, built from the plant's own products and customers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import pytest

from edge.sim.orderbook import OrderBookSpec, generate_order_book
from shopfloor.events import OrderStatus
from shopfloor.plant import Plant, load_plant
from shopfloor.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


@cache
def plant() -> Plant:
    return load_plant(PROJECT_ROOT / "infra" / "plants" / "demo.yaml")


def test_same_seed_same_book_other_seed_other_book() -> None:
    spec = OrderBookSpec(start=START, days=10)
    assert generate_order_book(plant(), spec, 3) == generate_order_book(plant(), spec, 3)
    assert generate_order_book(plant(), spec, 3) != generate_order_book(plant(), spec, 4)


def test_a_month_of_orders_matches_the_demo_plants_story() -> None:
    book = generate_order_book(plant(), OrderBookSpec(start=START, days=30, backlog_days=0), 1)
    orders = [booked.order for booked in book.orders]
    # 380 a month on average (Poisson: a month lands well within +-25 %).
    assert 285 <= len(orders) <= 475
    rush = sum(order.rush for order in orders) / len(orders)
    assert 0.07 <= rush <= 0.18
    assert len({order.order_id for order in orders}) == len(orders)
    assert len({order.customer_id for order in orders}) > 30


def test_orders_use_the_plants_products_customers_and_routings() -> None:
    book = generate_order_book(plant(), OrderBookSpec(start=START, days=15), 2)
    products = {p.id for p in plant().products}
    customers = {c.id for c in plant().customers}
    for booked in book.orders:
        order = booked.order
        assert order.customer_id in customers
        assert {line.product_id for line in order.lines} <= products
        assert order.due_date > booked.created_at
        lead = order.due_date - booked.created_at
        if order.rush:
            assert lead <= timedelta(days=5) and order.priority >= 4
        else:
            assert lead >= timedelta(days=9)
        assert order.status is (OrderStatus.APPROVED if booked.created_at < START else OrderStatus.DRAFT)
        assert len(booked.work_orders) == len(order.lines)
        for work_order, line in zip(booked.work_orders, order.lines, strict=True):
            assert work_order.order_id == order.order_id
            assert work_order.quantity == line.quantity
            assert work_order.operations == plant().routing(line.product_id)
            assert work_order.release_time is not None and work_order.release_time >= booked.created_at


def test_backlog_is_the_orders_created_before_the_start() -> None:
    book = generate_order_book(plant(), OrderBookSpec(start=START, days=5, backlog_days=7), 5)
    backlog = book.backlog(START)
    assert backlog and len(backlog) < len(book.orders)
    assert all(booked.created_at < START for booked in backlog)
    assert min(booked.created_at for booked in book.orders) >= START - timedelta(days=7)
    assert len(book.work_orders()) >= len(book.orders)
