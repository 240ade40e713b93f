"""One server-sent event stream per page, its event types multiplexed (the browser allows 6 HTTP/1.1
connections per host across all tabs). A reconnect's ``Last-Event-ID`` resumes from the hub's buffer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException
from fastapi.sse import EventSourceResponse, ServerSentEvent

from dashboards.channels import MACHINE_PREFIX
from dashboards.deps import Ctx
from dashboards.routes.api import PLANNERS, VIEWERS
from shopfloor.auth import AUTH_RESPONSES, require

board_live = APIRouter(prefix="/live", tags=["live"], dependencies=[Depends(require(*VIEWERS))])
planning_live = APIRouter(prefix="/live", tags=["live"], dependencies=[Depends(require(*PLANNERS))])
for router in (board_live, planning_live):
    router.responses.update(AUTH_RESPONSES)

LastEventId = Annotated[str | None, Header(alias="Last-Event-ID", max_length=64)]
# Browsers retry after this many milliseconds when the stream drops.
RETRY_MS = 1000


async def _events(ctx: Ctx, key: str, last_event_id: str | None) -> AsyncIterator[ServerSentEvent]:
    channel = ctx.hub.channel(key)
    if channel is None:
        raise HTTPException(404, f"no live channel {key}")
    first = True
    async for event in ctx.hub.stream(channel, last_event_id):
        yield ServerSentEvent(raw_data=event.data, event=event.event, id=event.id, retry=RETRY_MS if first else None)
        first = False


@board_live.get("/board", response_class=EventSourceResponse, summary="The load board's events")
async def board(ctx: Ctx, last_event_id: LastEventId = None) -> AsyncIterator[ServerSentEvent]:
    async for event in _events(ctx, "board", last_event_id):
        yield event


@planning_live.get("/gantt", response_class=EventSourceResponse, summary="The Gantt's events")
async def gantt(ctx: Ctx, last_event_id: LastEventId = None) -> AsyncIterator[ServerSentEvent]:
    async for event in _events(ctx, "gantt", last_event_id):
        yield event


@planning_live.get("/orders", response_class=EventSourceResponse, summary="A digest event when orders change")
async def orders(ctx: Ctx, last_event_id: LastEventId = None) -> AsyncIterator[ServerSentEvent]:
    async for event in _events(ctx, "orders", last_event_id):
        yield event


def known_machine(ctx: Ctx, machine_id: str) -> str:
    try:
        ctx.plant.machine(machine_id)
    except KeyError:
        raise HTTPException(404, f"unknown machine {machine_id}") from None
    return machine_id


@planning_live.get(
    "/machines/{machine_id}",
    response_class=EventSourceResponse,
    responses={404: {"description": "No such machine."}},
    summary="A machine's events",
)
async def machine(
    ctx: Ctx, machine_id: Annotated[str, Depends(known_machine)], last_event_id: LastEventId = None
) -> AsyncIterator[ServerSentEvent]:
    async for event in _events(ctx, MACHINE_PREFIX + machine_id, last_event_id):
        yield event
