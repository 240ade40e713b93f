"""The dashboards app: ``make_app(settings, pool, clock=...)`` builds it; nothing is global."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from psycopg_pool import ConnectionPool

from dashboards.channels import factory
from dashboards.deps import STATIC_DIR, TEMPLATES_DIR, Context
from dashboards.live import Hub
from dashboards.routes.api import board_api, planning_api
from dashboards.routes.live import board_live, planning_live
from dashboards.routes.pages import board_pages, planning_pages
from dashboards.settings import DashboardSettings
from shopfloor.auth import DbTokenStore, TokenStore, install
from shopfloor.db.pool import Connection
from shopfloor.events import Model, utcnow
from shopfloor.plant import Plant, load_plant


class Health(Model):
    status: str
    live_polls: int


def make_app(
    settings: DashboardSettings,
    pool: ConnectionPool[Connection],
    clock: Callable[[], datetime] = utcnow,
    *,
    plant: Plant | None = None,
    tokens: TokenStore | None = None,
) -> FastAPI:
    """The app over an opened ``pool``; tokens default to the ``api_token`` table."""
    plant = plant or load_plant(settings.plant_file)
    hub = Hub(
        pool,
        factory(plant, settings),
        clock,
        interval_s=settings.poll_interval_s,
        stale_after_s=settings.stale_after_s,
        heartbeat_s=settings.heartbeat_s,
        buffer=settings.replay_buffer,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await hub.stop()

    app = FastAPI(title="shopfloor dashboards", version="1", lifespan=lifespan)
    install(app, tokens or DbTokenStore(pool))
    templates = Jinja2Templates(directory=TEMPLATES_DIR)
    app.state.dashboards = Context(settings, plant, pool, hub, clock, templates)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/health", tags=["health"])
    def health() -> Health:
        return Health(status="ok", live_polls=hub.polls)

    for router in (board_api, planning_api, board_live, planning_live, board_pages, planning_pages):
        app.include_router(router)
    return app
