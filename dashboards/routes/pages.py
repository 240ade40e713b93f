"""The HTML pages: server-rendered shells in the viewer's language; their charts fill from the JSON and
live endpoints. The board is for TVs (viewer tokens, kiosk URL ``/board?token=...``); the rest for
planners and managers."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from psycopg_pool import PoolTimeout

from dashboards import queries
from dashboards.deps import Ctx, PageLang, render
from dashboards.queries import board as board_q
from dashboards.routes.api import PLANNERS, VIEWERS
from shopfloor.auth import AUTH_RESPONSES, require

board_pages = APIRouter(tags=["pages"], dependencies=[Depends(require(*VIEWERS))], include_in_schema=False)
planning_pages = APIRouter(tags=["pages"], dependencies=[Depends(require(*PLANNERS))], include_in_schema=False)
for router in (board_pages, planning_pages):
    router.responses.update(AUTH_RESPONSES)


@board_pages.get("/", response_class=RedirectResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/board", status_code=303)


@board_pages.get("/board", response_class=HTMLResponse)
def board(request: Request, ctx: Ctx, lang: PageLang) -> HTMLResponse:
    try:
        with ctx.pool.connection(timeout=5) as conn:
            tiles = board_q.tiles(conn, ctx.plant)
    except (psycopg.Error, PoolTimeout):
        # The TV still gets its board, marked stale by the stream's status, never an error page.
        tiles = board_q.no_data_tiles(ctx.plant)
    return render(ctx, request, lang, "board.html", "board", tiles=tiles)


@planning_pages.get("/gantt", response_class=HTMLResponse)
def gantt(request: Request, ctx: Ctx, lang: PageLang) -> HTMLResponse:
    return render(ctx, request, lang, "gantt.html", "gantt")


@planning_pages.get("/machines/{machine_id}", response_class=HTMLResponse)
def machine(request: Request, ctx: Ctx, lang: PageLang, machine_id: str) -> HTMLResponse:
    try:
        found = ctx.plant.machine(machine_id)
    except KeyError:
        raise HTTPException(404, f"unknown machine {machine_id}") from None
    return render(ctx, request, lang, "machine.html", "machine", machine=found)


@planning_pages.get("/orders", response_class=HTMLResponse)
def orders(request: Request, ctx: Ctx, lang: PageLang) -> HTMLResponse:
    return render(ctx, request, lang, "orders.html", "orders")


@planning_pages.get("/orders/{order_id}", response_class=HTMLResponse)
def order(request: Request, ctx: Ctx, lang: PageLang, order_id: str) -> HTMLResponse:
    with ctx.pool.connection() as conn:
        found = queries.order_detail(conn, ctx.plant, order_id)
    if found is None:
        raise HTTPException(404, f"unknown order {order_id}")
    return render(ctx, request, lang, "order.html", "order", order_id=order_id)
