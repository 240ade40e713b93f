"""The order hub app over a test's own schema, called in process through httpx.ASGITransport."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from orders import OrdersSettings, make_app
from shopfloor.auth import Role, StaticTokenStore
from shopfloor.db.pool import make_pool
from shopfloor.settings import PostgresSettings

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

TOKENS = StaticTokenStore()
SALES = TOKENS.add("sam (sales)", [Role.SALES])
PLANNER = TOKENS.add("pia (planner)", [Role.PLANNER])
FINANCE = TOKENS.add("fred (finance)", [Role.FINANCE])
ENGINEER = TOKENS.add("eve (engineering)", [Role.ENGINEERING])
VIEWER = TOKENS.add("tv", [Role.VIEWER])
MANAGER = TOKENS.add("max (manager)", [Role.MANAGER])
PURCHASING = TOKENS.add("paula (purchasing)", [Role.PURCHASING])


CHANNEL_SECRETS = {"marketplace": b"mk-secret", "distributor": b"ds-secret"}
SETTINGS = OrdersSettings.model_validate(
    {"channel_secrets": {name: secret.decode() for name, secret in CHANNEL_SECRETS.items()}}
)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Client:
    """Requests to the app in process (no server, no socket)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def arequest(self, method: str, path: str, token: str = SALES, **kwargs: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub", headers=auth(token)) as client:
            return await client.request(method, path, **kwargs)

    def request(self, method: str, path: str, token: str = SALES, **kwargs: Any) -> httpx.Response:
        return asyncio.run(self.arequest(method, path, token, **kwargs))

    def get(self, path: str, token: str = SALES, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, token, **kwargs)

    def post(self, path: str, json: Any = None, token: str = SALES) -> httpx.Response:
        return self.request("POST", path, token, json=json)

    def patch(self, path: str, json: Any, token: str = SALES) -> httpx.Response:
        return self.request("PATCH", path, token, json=json)


def order_body(**overrides: Any) -> dict[str, Any]:
    """A small order of the demo plant: 1,000 hex bolts M6x20 for a known customer (well under 50,000)."""
    body: dict[str, Any] = {
        "customer_id": "CUST-001",
        "lines": [{"product_id": "HB-M6x20", "quantity": 1000, "unit_price": "0.12"}],
        "due_date": "2026-03-20T00:00:00Z",
        "priority": 3,
    }
    body.update(overrides)
    return body


@pytest.fixture
def hub_app(pg_settings: PostgresSettings) -> Iterator[FastAPI]:
    pg = pg_settings.model_copy(update={"pool_max": 16})
    with make_pool(pg, name="orders-test") as pool:
        yield make_app(SETTINGS, pool, clock=lambda: NOW, tokens=TOKENS)


@pytest.fixture
def hub_client(hub_app: FastAPI) -> Client:
    return Client(hub_app)
