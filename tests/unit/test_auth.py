"""The one token-and-role scheme: tokens, constant-time checks, and the FastAPI dependencies routers declare."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI

from shopfloor.auth import CurrentPrincipal, Role, Scope, StaticTokenStore, hash_token, install, require
from shopfloor.auth.tokens import token_id_of

pytestmark = pytest.mark.unit


def make_app(tokens: StaticTokenStore) -> FastAPI:
    app = FastAPI()
    install(app, tokens)
    planners = APIRouter(dependencies=[Depends(require(Role.PLANNER))])

    @planners.get("/plan")
    def plan(principal: CurrentPrincipal) -> dict[str, str | None]:
        return {"name": principal.name, "customer": principal.scope.customer_id}

    app.include_router(planners)
    return app


def get(
    app: FastAPI, path: str, headers: dict[str, str] | None = None, cookies: dict[str, str] | None = None
) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", cookies=cookies) as client:
            return await client.get(path, headers=headers)

    return asyncio.run(call())


def test_a_token_is_shown_once_and_only_its_hash_is_kept() -> None:
    tokens = StaticTokenStore()
    token = tokens.add("alice", [Role.PLANNER])
    stored = next(iter(tokens._by_id.values()))
    assert token_id_of(token) == stored.token_id
    assert stored.token_hash == hash_token(token) and token not in stored.token_hash
    principal = tokens.authenticate(token)
    assert principal is not None and principal.name == "alice" and principal.roles == {Role.PLANNER}


@pytest.mark.parametrize(
    "mangle",
    [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: t.replace("sft_", "sfx_"), lambda t: "", str.upper],
)
def test_a_wrong_or_malformed_token_authenticates_nobody(mangle: object) -> None:
    tokens = StaticTokenStore()
    token = tokens.add("alice", [Role.PLANNER])
    assert callable(mangle)
    assert tokens.authenticate(mangle(token)) is None


def test_routes_check_roles_from_header_query_or_cookie() -> None:
    tokens = StaticTokenStore()
    planner = tokens.add("pat", [Role.PLANNER], Scope(customer_id="CUST-9"))
    admin = tokens.add("root", [Role.ADMIN])
    viewer = tokens.add("tv", [Role.VIEWER])
    app = make_app(tokens)

    assert get(app, "/plan").status_code == 401
    assert get(app, "/plan").headers["www-authenticate"] == "Bearer"
    assert get(app, "/plan", headers={"Authorization": f"Bearer {viewer}"}).status_code == 403
    ok = get(app, "/plan", headers={"Authorization": f"Bearer {planner}"})
    assert ok.status_code == 200 and ok.json() == {"name": "pat", "customer": "CUST-9"}
    assert get(app, f"/plan?token={planner}").status_code == 200
    assert get(app, "/plan", cookies={"shopfloor_token": planner}).status_code == 200
    assert get(app, "/plan", headers={"Authorization": f"Bearer {admin}"}).status_code == 200
    assert get(app, "/plan", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_require_needs_a_role() -> None:
    with pytest.raises(ValueError):
        require()
