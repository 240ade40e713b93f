"""The service's HTTP API: capable-to-promise, health, the current plan, Prometheus metrics.

``POST /what-if`` (order hub's rush-order what-if) re-solves the current plan's problem with a proposed order
added. The plan (customers, due dates) and promises need a token of the core scheme (``shopfloor.auth``):
planners, managers and sales read the plan; sales and planners ask for promises. ``/health`` and
``/metrics`` stay open for probes and Prometheus on the service's internal port.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, HTTPException
from prometheus_client import make_asgi_app

from rescheduler.ctp import CannotPromiseError
from rescheduler.service.promise import CtpRequest, CtpResponse, PlanContext, UnknownReferenceError, promise
from rescheduler.service.whatif import WhatIfRequest, WhatIfResponse, what_if
from shopfloor.auth import AUTH_RESPONSES, Role, TokenStore, install, require
from shopfloor.events import Model, UtcDatetime, utcnow
from shopfloor.plant import Plant


class Health(Model):
    status: str
    plan_id: str | None
    plan_version: int | None
    plan_created_at: UtcDatetime | None


class PlanOperation(Model):
    work_order_id: str
    seq: int
    machine_id: str
    start: UtcDatetime
    end: UtcDatetime
    frozen: bool


class CurrentPlanOut(Model):
    plan_id: str
    version: int
    created_at: UtcDatetime
    late_orders: list[str]
    operations: list[PlanOperation]


class Problem(Model):
    detail: str


NO_PLAN: dict[int | str, dict[str, object]] = {503: {"model": Problem, "description": "No plan has been made yet."}}


def make_app(
    plant: Plant,
    current: Callable[[], PlanContext | None],
    tokens: TokenStore,
    clock: Callable[[], datetime] = utcnow,
    *,
    what_if_time_limit_s: float = 10.0,
) -> FastAPI:
    app = FastAPI(title="shopfloor rescheduler", version="1")
    install(app, tokens)
    app.mount("/metrics", make_asgi_app())
    plan_readers = APIRouter(
        dependencies=[Depends(require(Role.PLANNER, Role.MANAGER, Role.SALES))], responses={**AUTH_RESPONSES}
    )
    promisers = APIRouter(dependencies=[Depends(require(Role.SALES, Role.PLANNER))], responses={**AUTH_RESPONSES})

    def need_plan() -> PlanContext:
        context = current()
        if context is None:
            raise HTTPException(status_code=503, detail="no plan yet")
        return context

    @app.get("/health")
    def health() -> Health:
        context = current()
        return Health(
            status="ok" if context else "starting",
            plan_id=context.plan_id if context else None,
            plan_version=context.version if context else None,
            plan_created_at=context.created_at if context else None,
        )

    @plan_readers.get("/plan/current", responses=NO_PLAN)
    def plan_current() -> CurrentPlanOut:
        context = need_plan()
        return CurrentPlanOut(
            plan_id=context.plan_id,
            version=context.version,
            created_at=context.created_at,
            late_orders=context.late_orders,
            operations=[
                PlanOperation(
                    work_order_id=o.work_order_id,
                    seq=o.seq,
                    machine_id=o.machine_id,
                    start=o.start,
                    end=o.end,
                    frozen=o.frozen,
                )
                for o in sorted(context.ops, key=lambda o: (o.start, o.machine_id))
            ],
        )

    @promisers.post(
        "/ctp",
        responses={
            **NO_PLAN,
            404: {"model": Problem, "description": "Unknown product or customer."},
            409: {"model": Problem, "description": "No date within the search horizon can be promised."},
        },
    )
    def ctp(request: CtpRequest) -> CtpResponse:
        context = need_plan()
        try:
            return promise(plant, context, request, clock())
        except UnknownReferenceError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None
        except CannotPromiseError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None

    @promisers.post(
        "/what-if",
        responses={**NO_PLAN, 404: {"model": Problem, "description": "Unknown product or customer."}},
    )
    def rush_what_if(request: WhatIfRequest) -> WhatIfResponse:
        """Which orders on time now would be late, and by how much, if this rush order were accepted (a
        re-solve of the current plan's problem with it added; nothing is written)."""
        context = need_plan()
        try:
            return what_if(plant, context, request, clock(), what_if_time_limit_s)
        except UnknownReferenceError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None

    app.include_router(plan_readers)
    app.include_router(promisers)
    return app


class HttpServer:
    """Uvicorn in a background thread, stopped cleanly with :meth:`stop`."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, name="rescheduler-http", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def started(self) -> bool:
        return bool(self._server.started)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
