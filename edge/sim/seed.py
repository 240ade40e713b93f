"""Write the simulated plant's order book into the database, as the order hub would.

Until the order hub runs, the demo's rescheduler needs orders and work orders to plan; the simulator
generates them from the same seed and window it runs, so the plan and the scans agree. Orders created
before the simulated start arrive approved, with their work orders released.
"""

from __future__ import annotations

from datetime import datetime

from edge.sim.orderbook import OrderBook, OrderBookSpec, generate_order_book
from shopfloor.db.pool import connect
from shopfloor.db.state import upsert_order, upsert_work_order
from shopfloor.events import OrderStatus
from shopfloor.plant import Plant
from shopfloor.settings import PostgresSettings


def sim_order_book(plant: Plant, start: datetime, days: float, seed: int) -> OrderBook:
    """The book the simulator works from for this start, span and seed."""
    return generate_order_book(plant, OrderBookSpec(start=start, days=days), seed)


def seed_orders(book: OrderBook, at: datetime, settings: PostgresSettings) -> int:
    """Write the orders created before ``at`` (approved) and their work orders; returns how many orders.

    Idempotent: the state writers upsert by order id and version, work order id and operation seq.
    """
    backlog = book.backlog(at)
    with connect(settings) as conn:
        for booked in backlog:
            order = booked.order.model_copy(update={"status": OrderStatus.APPROVED})
            upsert_order(conn, order, "order.approved")
            for work_order in booked.work_orders:
                upsert_work_order(conn, work_order)
    return len(backlog)
