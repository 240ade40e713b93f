"""``/channels/{channel}/orders``: sales channels (shops, marketplaces, distributors) post their own JSON.

Not bearer tokens: each channel signs its requests with its shared secret (HMAC-SHA256 over
``<timestamp>.<body>``, headers ``X-Shopfloor-Timestamp`` and ``X-Shopfloor-Signature``,
``shopfloor.auth.signing``). A wrong signature or an old timestamp is 401; the very same signed request
again is 409; a retried delivery (same ``Idempotency-Key`` or channel order id) answers 200 with the order
the first one made.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status
from starlette.concurrency import run_in_threadpool

from orders.intake import ChannelIntake
from orders.models import OrderOut

router = APIRouter(prefix="/channels", tags=["channels"])

ChannelName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]


async def intake_of(request: Request) -> ChannelIntake:
    intake: ChannelIntake = request.app.state.intake
    return intake


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": OrderOut, "description": "A retried delivery: the order the first delivery made."},
    401: {"description": "Signature missing or wrong, or timestamp too old."},
    404: {"description": "No such channel."},
    409: {"description": "The very same signed request was received before (a replay)."},
    413: {"description": "Body too large."},
    422: {"description": "The mapped order is invalid: each error names its field and the reason."},
    503: {"description": "The channel has no secret configured."},
}


@router.post(
    "/{channel}/orders",
    status_code=status.HTTP_201_CREATED,
    responses=RESPONSES,
    openapi_extra={"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}, "required": True}},
)
async def channel_order(
    channel: ChannelName, request: Request, response: Response, intake: Annotated[ChannelIntake, Depends(intake_of)]
) -> OrderOut:
    """Take a channel's order in (role: the channel, by its signature)."""
    body = await request.body()
    out = await run_in_threadpool(intake.receive, channel, request.headers, body)
    if not out.created_now:
        response.status_code = status.HTTP_200_OK
    return out
