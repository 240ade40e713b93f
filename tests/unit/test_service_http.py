"""The HTTP API on a hand-made situation: an empty plan of the demo plant on Monday 2 March 2026, 08:00
in Ningbo (00:00 UTC), so every minute of the promise can be derived from the routing and the shifts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from rescheduler.service.build import build_input
from rescheduler.service.http import make_app
from rescheduler.service.promise import PlanContext
from rescheduler.service.snapshot import Snapshot
from shopfloor.auth import Role, StaticTokenStore
from shopfloor.plant import Plant, load_plant
from tests.rescheduler_support.seed import DEMO_PLANT

pytestmark = pytest.mark.unit


class Client:
    """Calls the ASGI app in-process through httpx (no server, no socket), with a token when given one."""

    def __init__(self, app: FastAPI, token: str | None = None) -> None:
        self.app = app
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=self.headers) as client:
                return await client.request(method, path, json=body)

        return asyncio.run(call())

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def post(self, path: str, json: Any) -> httpx.Response:
        return self.request("POST", path, json)


NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def plant() -> Plant:
    return load_plant(DEMO_PLANT)


TOKENS = StaticTokenStore()
SALES = TOKENS.add("sales desk", [Role.SALES])
VIEWER = TOKENS.add("tv", [Role.VIEWER])


@pytest.fixture
def app(plant: Plant) -> FastAPI:
    plan_input = build_input(plant, Snapshot(work_orders=[]), NOW, horizon_days=7)
    context = PlanContext("plant1-v1", 1, NOW, plan_input, ops=[], late_orders=[])
    return make_app(plant, lambda: context, TOKENS, clock=lambda: NOW)


@pytest.fixture
def client(app: FastAPI) -> Client:
    return Client(app, SALES)


def test_plan_and_promises_need_a_token_with_a_role(app: FastAPI) -> None:
    ctp = {"product_id": "HB-M16x60", "quantity": 10, "customer_id": "CUST-001"}
    anonymous, viewer, forged = Client(app), Client(app, VIEWER), Client(app, SALES[:-1] + "x")
    assert anonymous.get("/plan/current").status_code == 401
    assert anonymous.post("/ctp", json=ctp).status_code == 401
    assert forged.get("/plan/current").status_code == 401
    assert viewer.post("/ctp", json=ctp).status_code == 403
    assert viewer.get("/plan/current").status_code == 403
    assert Client(app, SALES).get("/plan/current").status_code == 200
    assert anonymous.get("/health").status_code == 200


def test_openapi_declares_every_status_the_api_answers(app: FastAPI) -> None:
    paths = Client(app).get("/openapi.json").json()["paths"]
    assert {"200", "401", "403", "404", "409", "422", "503"} <= set(paths["/ctp"]["post"]["responses"])
    assert {"200", "401", "403", "503"} <= set(paths["/plan/current"]["get"]["responses"])


def test_ctp_on_an_empty_plan_follows_routing_and_shifts(client: Client) -> None:
    response = client.post("/ctp", json={"product_id": "HB-M16x60", "quantity": 10_000, "customer_id": "CUST-001"})
    assert response.status_code == 200, response.text
    body = response.json()
    # Local times (UTC+8), setup + unit time x 10,000:
    #   drawing 30 + 80 = 110 min   08:00-09:50     heading 90 + 300 = 390 min  09:50-16:20
    #   rolling 40 + 100 = 140 min  16:20-18:40     furnace 30 + 90 = 120 min   18:40-20:40
    #   coating 45 + 130 = 175 min: only 80 min left of the two-shift day (ends 22:00), and an operation
    #   does not span a break -> Tuesday 06:00-08:55; sorting 15 + 60 = 75 min 08:55-10:10.
    ends = [datetime.fromisoformat(op["end"]) for op in body["operations"]]
    assert [e.astimezone(UTC).strftime("%d %H:%M") for e in ends] == [
        "02 01:50",
        "02 08:20",
        "02 10:40",
        "02 12:40",
        "03 00:55",
        "03 02:10",
    ]
    assert datetime.fromisoformat(body["completion"]) == datetime(2026, 3, 3, 2, 10, tzinfo=UTC)
    # Coating waited from 20:40 to 06:00 for its shift: that sets the date.
    assert body["bottleneck"]["workcenter_id"] == "WC-COAT"
    assert body["bottleneck"]["waited_hours"] == pytest.approx(9 + 20 / 60, abs=0.01)
    assert body["reserve_eligible"] is False


def test_ctp_rejects_unknown_and_invalid_requests(client: Client) -> None:
    assert client.post("/ctp", json={"product_id": "NOPE", "quantity": 5, "customer_id": "CUST-001"}).status_code == 404
    assert (
        client.post("/ctp", json={"product_id": "HB-M16x60", "quantity": 5, "customer_id": "NOPE"}).status_code == 404
    )
    assert (
        client.post("/ctp", json={"product_id": "HB-M16x60", "quantity": -1, "customer_id": "CUST-001"}).status_code
        == 422
    )
    assert client.post("/ctp", json={"product_id": "HB-M16x60", "customer_id": "CUST-001"}).status_code == 422


def test_only_a_rush_order_of_a_strategic_customer_may_use_the_rush_reserve(client: Client) -> None:
    request = {"product_id": "HB-M16x60", "quantity": 100, "customer_id": "CUST-002"}
    assert client.post("/ctp", json=request).json()["reserve_eligible"] is False
    assert client.post("/ctp", json={**request, "rush": True}).json()["reserve_eligible"] is True
    assert (
        client.post("/ctp", json={**request, "rush": True, "customer_id": "CUST-001"}).json()["reserve_eligible"]
        is False
    )


def test_health_and_plan_before_any_plan(plant: Plant) -> None:
    client = Client(make_app(plant, lambda: None, TOKENS, clock=lambda: NOW), SALES)
    assert client.get("/health").json()["status"] == "starting"
    assert client.get("/plan/current").status_code == 503
    assert (
        client.post("/ctp", json={"product_id": "HB-M16x60", "quantity": 5, "customer_id": "CUST-001"}).status_code
        == 503
    )
