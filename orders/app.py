"""The order hub's FastAPI app: ``make_app(settings, pool, clock=...)``, routers per resource and audience."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import ConnectionPool

from orders.config import HubConfig, load_config
from orders.hub import HubError, OrderHub
from orders.intake import ChannelIntake
from orders.routes import approvals, changes, channels, orders
from orders.settings import OrdersSettings
from shopfloor.auth import DbTokenStore, TokenStore, install
from shopfloor.db.pool import Connection
from shopfloor.events import Model, utcnow
from shopfloor.plant import Plant, load_plant


class Health(Model):
    status: str
    site_id: str


def make_app(
    settings: OrdersSettings,
    pool: ConnectionPool[Connection],
    clock: Callable[[], datetime] = utcnow,
    *,
    plant: Plant | None = None,
    config: HubConfig | None = None,
    tokens: TokenStore | None = None,
) -> FastAPI:
    """The app over an open pool; the plant and the hub config are read from the settings unless given."""
    plant = plant or load_plant(settings.plant)
    config = config or load_config(settings.config)
    app = FastAPI(
        title="shopfloor order hub",
        version="1",
        description="Orders from sales, shops and distributors: checked, numbered, versioned, approved, "
        "released as work orders. Every route names the roles it admits; tokens come from "
        "`shopfloor auth token create`.",
    )
    install(app, tokens or DbTokenStore(pool))
    app.state.hub = OrderHub(plant, config, settings, pool, clock)
    app.state.intake = ChannelIntake(app.state.hub, config)

    @app.exception_handler(HubError)
    def hub_error(request: Request, exc: HubError) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content={"detail": exc.detail})

    @app.exception_handler(RequestValidationError)
    def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Field and reason only: the input is not echoed (it may be non-finite JSON like Infinity, which
        # cannot be written back, or carry what should not be logged).
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": errors})

    @app.get("/health", tags=["health"])
    def health() -> Health:
        return Health(status="ok", site_id=plant.site_id)

    app.include_router(orders.promisers)
    app.include_router(orders.writers)
    app.include_router(approvals.router)
    app.include_router(orders.readers)
    app.include_router(changes.router)
    app.include_router(channels.router)
    return app
