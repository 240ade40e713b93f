"""The dashboards' JSON against the real PostgreSQL: the numbers equal the tables' aggregates, roles hold."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from dashboards import make_app, periods
from shopfloor.auth import Role, StaticTokenStore
from shopfloor.db.pool import Connection, connect, make_pool
from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT, PostgresSettings
from tests.dashboards_support.pg import dash_pg, dash_pg_server  # noqa: F401
from tests.dashboards_support.seed import seed
from tests.dashboards_support.serve import fast_settings
from tests.dashboards_support.writer import FixtureFeed

pytestmark = pytest.mark.integration

PLANT = load_plant(PROJECT_ROOT / "infra" / "plants" / "demo.yaml")


@dataclass
class Api:
    app: FastAPI
    tokens: dict[str, str]
    conn: Connection
    now: datetime

    def get(self, path: str, role: str | None = "planner") -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

        async def call() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://t") as c:
                return await c.get(path, headers=headers)

        return asyncio.run(call())

    def json(self, path: str, role: str = "planner") -> Any:
        response = self.get(path, role)
        assert response.status_code == 200, response.text
        return response.json()

    def one(self, query: str, *params: object) -> tuple[Any, ...]:
        row = self.conn.execute(query, params).fetchone()
        assert row is not None
        return row


@pytest.fixture
def api(dash_pg: PostgresSettings) -> Iterator[Api]:  # noqa: F811
    now = datetime.now(UTC)
    seed(FixtureFeed(dash_pg, PLANT), now)
    store = StaticTokenStore()
    tokens = {r: store.add(r, [Role(r)]) for r in ("viewer", "planner", "sales")}
    with make_pool(dash_pg) as pool, connect(dash_pg) as conn:
        yield Api(make_app(fast_settings(), pool, plant=PLANT, tokens=store), tokens, conn, now)


def test_roles_guard_every_page_and_endpoint(api: Api) -> None:
    assert api.get("/api/board", role=None).status_code == 401
    assert api.get("/board", role=None).status_code == 401
    assert api.get("/api/board", role="sales").status_code == 403
    assert api.get("/api/board", role="viewer").status_code == 200
    assert api.get("/board", role="viewer").status_code == 200
    for path in ("/api/gantt", "/api/orders", "/gantt", "/orders", "/machines/H2", "/live/gantt"):
        assert api.get(path, role="viewer").status_code == 403, path
    assert api.get("/api/machines/NOPE").status_code == 404
    assert api.get("/api/orders/NOPE").status_code == 404


def test_kiosk_url_token_becomes_a_cookie(api: Api) -> None:
    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app), base_url="http://t") as c:
            first = await c.get(f"/board?token={api.tokens['viewer']}")
            assert first.status_code == 200
            return await c.get("/api/board/tiles")  # no token in the URL: the cookie carries it

    assert asyncio.run(call()).status_code == 200


def test_every_chart_has_a_documented_json_endpoint(api: Api) -> None:
    paths = api.json("/openapi.json")["paths"]
    for section in ("tiles", "heatmap", "oee", "load", "pool", "bottlenecks", "late", "alerts", "on-time", "pareto"):
        assert f"/api/board/{section}" in paths
    for path in ("/api/board", "/api/gantt", "/api/machines/{machine_id}", "/api/orders", "/api/orders/{order_id}"):
        assert path in paths
    assert "/live/board" in paths


def test_board_numbers_equal_the_database_aggregates(api: Api) -> None:
    board = api.json("/api/board", role="viewer")
    states = dict(api.conn.execute("SELECT machine_id, state FROM machine_current_state").fetchall())
    assert {t["machine_id"]: t["state"] for t in board["tiles"]} == states
    (total,) = api.one("SELECT sum(orders) FROM order_pool_1m WHERE bucket = (SELECT max(bucket) FROM order_pool_1m)")
    assert board["pool"]["total_orders"] == total == 78
    (open_wos,) = api.one("SELECT count(*) FROM work_order WHERE status <> 'done'")
    pending = {p["workshop_id"]: p["pending_work_orders"] for p in board["pool"]["pending"]}
    assert pending["heading"] == open_wos == 9 and sum(pending.values()) == open_wos
    shift, _ = periods.current_and_last_shift(PLANT, api.now)
    heading = [m.id for line in PLANT.workshops[1].lines for m in line.machines]
    (oee,) = api.one(
        "SELECT avg(o) FROM (SELECT avg(oee) o FROM machine_utilization_1m WHERE bucket >= %s AND bucket < %s"
        " AND machine_id = ANY(%s) GROUP BY machine_id) x",
        shift.start,
        api.now,
        heading,
    )
    [ws] = [w for w in board["oee"]["workshops"] if w["workshop_id"] == PLANT.workshops[1].id]
    assert ws["oee_pct"] == round(oee * 100, 1)
    assert board["oee"]["red_below"] == 65 and board["oee"]["green_above"] == 85
    week = next(k for k in board["on_time"] if k["period"] == "week")
    (delivered,) = api.one(
        "SELECT count(*) FROM work_order WHERE status = 'done' AND actual_finish >= %s",
        periods.week(PLANT, api.now).start,
    )
    assert week["delivered"] == delivered and week["on_time"] == delivered
    assert [o["order_id"] for o in board["late"]] == ["SO-1008"]
    assert board["bottlenecks"][0]["workcenter_id"] == "WC-HEAD"
    assert [a["alert_id"] for a in board["alerts"]] == ["al-1"]
    reasons = {b["reason"] for b in board["pareto"]["bars"]}
    if shift.start < api.now.replace(microsecond=0) - periods.timedelta(minutes=50):
        assert {"die_change", "material_wait"} <= reasons
    assert len(board["heatmap"]["cells"]) > 0


def test_gantt_has_every_scheduled_operation_and_the_changes(api: Api) -> None:
    gantt = api.json("/api/gantt")
    (count,) = api.one("SELECT count(*) FROM scheduled_operation WHERE plan_id = 'plan-2'")
    assert len(gantt["operations"]) == count == 18
    assert gantt["version"] == 2 and gantt["previous_version"] == 1
    changes = {(o["work_order_id"], o["seq"]): o["change"] for o in gantt["operations"]}
    assert changes[("WO-1011", 10)] == "new"
    assert changes[("WO-1006", 10)] == "moved" and changes[("WO-1004", 10)] == "same"
    late = [o for o in gantt["operations"] if o["late"]]
    assert {o["work_order_id"] for o in late} == {"WO-1008"}
    assert all(o["customer_id"] and o["due"] for o in gantt["operations"])


def test_orders_pool_filters_and_detail(api: Api) -> None:
    rush = api.json("/api/orders?rush=true")
    assert {o["order_id"] for o in rush} == {"SO-1000", "SO-1005", "SO-1010"}
    late = api.json("/api/orders?late=true")
    assert [o["order_id"] for o in late] == ["SO-1008"]
    detail = api.json("/api/orders/SO-1008")
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert detail["projected_completion"] and detail["order"]["late"]
    assert detail["work_orders"][0]["operations"][0]["planned_machine_id"] in {"H1", "H2"}


def test_machine_detail_covers_current_and_last_shift(api: Api) -> None:
    detail = api.json("/api/machines/H1")
    assert detail["state"] != "NO_DATA"
    assert [s["state"] for s in detail["timeline"]][-1] == detail["state"]
    (good,) = api.one(
        "SELECT coalesce(sum(good), 0) FROM machine_utilization_1m WHERE machine_id = 'H1' AND bucket >= %s",
        detail["current"]["start"],
    )
    assert detail["current"]["good"] == good
