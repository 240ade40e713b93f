"""What the routes share: the app's context (settings, plant, pool, hub, clock) and the page helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from psycopg_pool import ConnectionPool

from dashboards.i18n import LANG_COOKIE, Lang, labels, pick_language
from dashboards.live import Hub
from dashboards.settings import DashboardSettings
from shopfloor.auth.deps import TOKEN_COOKIE, TOKEN_QUERY
from shopfloor.db.pool import Connection
from shopfloor.plant import Plant

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Context:
    settings: DashboardSettings
    plant: Plant
    pool: ConnectionPool[Connection]
    hub: Hub
    clock: Callable[[], datetime]
    templates: Jinja2Templates


def context(request: Request) -> Context:
    ctx: Context = request.app.state.dashboards
    return ctx


Ctx = Annotated[Context, Depends(context)]


def language(request: Request) -> Lang:
    return pick_language(
        request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )


PageLang = Annotated[Lang, Depends(language)]


def render(ctx: Context, request: Request, lang: Lang, template: str, page: str, **values: Any) -> HTMLResponse:
    """A page in ``lang``; remembers a language chosen or a kiosk token given in the URL in cookies, so the
    page's own requests (JSON, the event stream) carry them."""
    response = ctx.templates.TemplateResponse(
        request,
        template,
        {
            "lang": lang,
            "t": labels(lang),
            "page": page,
            "plant": ctx.plant,
            "settings": ctx.settings,
            "kiosk": TOKEN_QUERY in request.query_params,
            **values,
        },
    )
    if "lang" in request.query_params:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    token = request.query_params.get(TOKEN_QUERY)
    if token:
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", max_age=365 * 86400)
    return response
