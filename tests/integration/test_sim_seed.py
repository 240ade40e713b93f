"""The simulator's order backlog written to PostgreSQL, as the demo's rescheduler needs it."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from edge.sim.seed import seed_orders, sim_order_book
from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT, PostgresSettings

pytestmark = pytest.mark.integration


def test_backlog_lands_approved_with_its_work_orders_once(
    pg_settings: PostgresSettings, db_conn: psycopg.Connection
) -> None:
    plant = load_plant(PROJECT_ROOT / "infra" / "plants" / "demo.yaml")
    start = datetime(2026, 11, 23, 6, tzinfo=UTC)
    book = sim_order_book(plant, start, days=1.0, seed=7)
    backlog = book.backlog(start)
    assert backlog, "the demo book must have a backlog to plan"

    assert seed_orders(book, start, pg_settings) == len(backlog)
    seed_orders(book, start, pg_settings)  # again: nothing doubles

    orders = db_conn.execute("SELECT order_id, status FROM customer_order ORDER BY order_id").fetchall()
    assert orders == sorted((b.order.order_id, "approved") for b in backlog)
    expected_wos = {wo.work_order_id: len(wo.operations) for b in backlog for wo in b.work_orders}
    rows = db_conn.execute("SELECT work_order_id, count(*) FROM operation GROUP BY work_order_id").fetchall()
    assert dict(rows) == expected_wos
