"""The JSON behind every chart and table (the pages fetch nothing else), documented in the OpenAPI."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from dashboards import queries
from dashboards.deps import Ctx
from dashboards.models import (
    Alert,
    Board,
    Bottleneck,
    Heatmap,
    LateOrder,
    LoadBoard,
    OeeBoard,
    OnTime,
    OrderPool,
    Pareto,
    Status,
    Tile,
)
from dashboards.models_plan import Gantt, MachineDetail, OrderDetail, OrderRow
from dashboards.queries import board as board_q
from shopfloor.auth import AUTH_RESPONSES, Role, require

VIEWERS = (Role.VIEWER, Role.PLANNER, Role.MANAGER)
PLANNERS = (Role.PLANNER, Role.MANAGER)

board_api = APIRouter(prefix="/api/board", tags=["board"], dependencies=[Depends(require(*VIEWERS))])
planning_api = APIRouter(prefix="/api", tags=["planning"], dependencies=[Depends(require(*PLANNERS))])
for router in (board_api, planning_api):
    router.responses.update(AUTH_RESPONSES)

NOT_FOUND: dict[int | str, dict[str, str]] = {404: {"description": "No such machine or order."}}


@board_api.get("", summary="The whole load board")
def whole_board(ctx: Ctx) -> Board:
    with ctx.pool.connection() as conn:
        return queries.board_snapshot(conn, ctx.plant, ctx.clock(), ctx.settings.load_days)


@board_api.get("/status", summary="How fresh the board's data is")
def status(ctx: Ctx) -> Status:
    now = ctx.clock()
    with ctx.pool.connection() as conn:
        as_of = queries.data_as_of(conn, now)
    stale = as_of is None or (now - as_of).total_seconds() > ctx.settings.stale_after_s
    return Status(now=now, data_as_of=as_of, db_ok=True, stale_after_s=ctx.settings.stale_after_s, stale=stale)


@board_api.get("/tiles", summary="Machine tiles: state and since when")
def tiles(ctx: Ctx) -> list[Tile]:
    with ctx.pool.connection() as conn:
        return board_q.tiles(conn, ctx.plant)


@board_api.get("/heatmap", summary="Running share per machine and minute, last hour")
def heatmap(ctx: Ctx) -> Heatmap:
    with ctx.pool.connection() as conn:
        return board_q.heatmap(conn, ctx.plant, ctx.clock())


@board_api.get("/oee", summary="OEE per workshop over the current shift")
def oee(ctx: Ctx) -> OeeBoard:
    with ctx.pool.connection() as conn:
        return board_q.oee(conn, ctx.plant, ctx.clock())


@board_api.get("/load", summary="Planned hours against capacity per workcenter and coming day")
def load(ctx: Ctx) -> LoadBoard:
    with ctx.pool.connection() as conn:
        return board_q.load(conn, ctx.plant, ctx.clock(), ctx.settings.load_days)


@board_api.get("/pool", summary="Order pool by status, pending work orders per workshop")
def pool(ctx: Ctx) -> OrderPool:
    with ctx.pool.connection() as conn:
        return board_q.pool(conn, ctx.plant)


@board_api.get("/bottlenecks", summary="Active bottlenecks")
def bottlenecks(ctx: Ctx) -> list[Bottleneck]:
    with ctx.pool.connection() as conn:
        return board_q.bottlenecks(conn)


@board_api.get("/late", summary="Orders the current plan finishes late")
def late(ctx: Ctx) -> list[LateOrder]:
    with ctx.pool.connection() as conn:
        return board_q.late_orders(conn, ctx.plant)


@board_api.get("/alerts", summary="Open alerts, newest first")
def alerts(ctx: Ctx) -> list[Alert]:
    with ctx.pool.connection() as conn:
        return board_q.alerts(conn)


@board_api.get("/on-time", summary="On-time delivery this week and month against target")
def on_time(ctx: Ctx) -> list[OnTime]:
    with ctx.pool.connection() as conn:
        return board_q.on_time(conn, ctx.plant, ctx.clock())


@board_api.get("/pareto", summary="Downtime minutes by reason, current shift")
def pareto(ctx: Ctx) -> Pareto:
    with ctx.pool.connection() as conn:
        return board_q.pareto(conn, ctx.plant, ctx.clock())


@planning_api.get("/gantt", summary="The current plan per machine, with changes from the previous plan")
def gantt(ctx: Ctx) -> Gantt:
    with ctx.pool.connection() as conn:
        return queries.gantt(conn, ctx.plant)


@planning_api.get("/machines/{machine_id}", responses=NOT_FOUND, summary="One machine: current and last shift")
def machine(ctx: Ctx, machine_id: str) -> MachineDetail:
    try:
        ctx.plant.machine(machine_id)
    except KeyError:
        raise HTTPException(404, f"unknown machine {machine_id}") from None
    with ctx.pool.connection() as conn:
        return queries.machine_detail(conn, ctx.plant, machine_id, ctx.clock())


@planning_api.get("/orders", summary="The order pool, filtered")
def orders(
    ctx: Ctx,
    status: Annotated[str | None, Query(max_length=32)] = None,
    customer: Annotated[str | None, Query(max_length=64)] = None,
    rush: bool | None = None,
    late: bool | None = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[OrderRow]:
    with ctx.pool.connection() as conn:
        return queries.pool(conn, ctx.plant, queries.PoolFilter(status, customer, rush, late, q, limit))


@planning_api.get("/orders/{order_id}", responses=NOT_FOUND, summary="One order: versions, work orders, plan")
def order(ctx: Ctx, order_id: str) -> OrderDetail:
    with ctx.pool.connection() as conn:
        found = queries.order_detail(conn, ctx.plant, order_id)
    if found is None:
        raise HTTPException(404, f"unknown order {order_id}")
    return found
