"""The simulator's orders go through the order hub (API and the marketplace webhook), not into tables:
the backlog approved with its work orders before the run, later orders as the clock reaches them, a few
due-date changes; the simulator learns the hub's work-order ids."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from edge.sim.hubfeed import HubFeed, sim_order_book
from orders import make_app
from rescheduler.service.http import HttpServer
from shopfloor.auth import Role, StaticTokenStore
from shopfloor.db.pool import Connection, make_pool
from shopfloor.plant import load_plant
from shopfloor.settings import PostgresSettings
from tests.orders_support.hub import CHANNEL_SECRETS, SETTINGS
from tests.rescheduler_support.receivers import free_port
from tests.rescheduler_support.seed import DEMO_PLANT

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 23, 6, tzinfo=UTC)


@pytest.fixture
def feed(pg_settings: PostgresSettings) -> Iterator[HubFeed]:
    tokens = StaticTokenStore()
    token = tokens.add("simulator", [Role.SALES, Role.PLANNER, Role.FINANCE, Role.ENGINEERING])
    port = free_port()
    with make_pool(pg_settings.model_copy(update={"pool_max": 4}), name="orders-test") as pool:
        server = HttpServer(make_app(SETTINGS, pool, tokens=tokens), "127.0.0.1", port)
        server.start()
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        feed = HubFeed(f"http://127.0.0.1:{port}", token, CHANNEL_SECRETS["marketplace"].decode())
        yield feed
        feed.close()
        server.stop()


def test_the_backlog_goes_in_through_the_hub_approved_with_its_work_orders_once(
    feed: HubFeed, db_conn: Connection
) -> None:
    plant = load_plant(DEMO_PLANT)
    book = sim_order_book(plant, START, days=1.0, seed=7)
    backlog = book.backlog(START)
    assert backlog
    assert feed.send_backlog(book, START) == len(backlog)
    feed.send_backlog(book, START)  # a re-run finds the orders the first one made
    rows = db_conn.execute("SELECT external_id, status, channel FROM customer_order ORDER BY serial").fetchall()
    assert [r[0] for r in rows] == [b.order.order_id for b in backlog]
    assert {r[1] for r in rows} == {"approved"}
    assert {r[2] for r in rows if r[2] == "marketplace"} == (
        {"marketplace"} if any(b.order.rush for b in backlog) else set()
    )
    hub_wos = {r[0] for r in db_conn.execute("SELECT work_order_id FROM work_order")}
    assert set(feed.aliases) == {wo.work_order_id for b in backlog for wo in b.work_orders}
    assert set(feed.aliases.values()) == hub_wos


def test_later_orders_follow_the_clock_with_a_few_changes(feed: HubFeed, db_conn: Connection) -> None:
    plant = load_plant(DEMO_PLANT)
    book = sim_order_book(plant, START, days=1.0, seed=7)
    later = [b for b in book.orders if b.created_at >= START]
    assert len(later) >= 10
    stop = threading.Event()
    feed.follow(book, START, speed=86_400 * 20, stop=stop).join(timeout=120)
    assert (feed.sent, feed.failed) == (len(later), 0)
    assert feed.changed == len(later) // 10
    rows = db_conn.execute("SELECT external_id, channel, rush FROM customer_order").fetchall()
    assert {r[0] for r in rows} == {b.order.order_id for b in later}
    assert all((r[1] == "marketplace") == r[2] for r in rows)  # rush orders came as the marketplace's webhook
