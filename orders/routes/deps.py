"""What the routers share: the hub of the app, and path parameters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request

from orders.hub import OrderHub
from shopfloor.auth import AUTH_RESPONSES


async def hub_of(request: Request) -> OrderHub:
    # async: no I/O here, and a sync dependency would cost a thread-pool hop per request.
    hub: OrderHub = request.app.state.hub
    return hub


Hub = Annotated[OrderHub, Depends(hub_of)]
OrderId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$", description="e.g. SO-2026-000123")]


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the statuses a route may answer besides success, with the auth ones."""
    text = {
        404: "No such order (or version).",
        409: "The order's state does not allow this (e.g. cancelled), or the channel id is taken.",
        422: "Invalid input: each error names its field and the reason (unknown customer or product too).",
        403: "The token lacks the role, or (approve) no pending step is the caller's to sign.",
    }
    return {**AUTH_RESPONSES, **{c: {"description": text[c]} for c in codes}}
