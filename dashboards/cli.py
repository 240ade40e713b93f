"""``shopfloor dashboards``: serve the load board, Gantt, machine and order pages; print a kiosk URL."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from dashboards.app import make_app
from dashboards.settings import DashboardSettings
from shopfloor.db.pool import make_pool
from shopfloor.settings import PostgresSettings

app = typer.Typer(help="Live dashboards (load board for TVs, Gantt, machines, orders).", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default SHOPFLOOR_DASHBOARDS_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default SHOPFLOOR_DASHBOARDS_PORT, 8090).")] = None,
) -> None:
    """Serve the dashboards until interrupted. Pages need a token: ``shopfloor auth token create``."""
    settings = DashboardSettings()
    updates = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = settings.model_copy(update=updates)
    with make_pool(PostgresSettings(), name="dashboards") as pool:
        web = make_app(settings, pool)
        typer.echo(f"load board: http://{settings.host}:{settings.port}/board?token=<viewer token>", err=True)
        uvicorn.run(web, host=settings.host, port=settings.port, log_level="warning", timeout_graceful_shutdown=2)


@app.command("kiosk-url")
def kiosk_url(
    token: Annotated[str, typer.Argument(help="A viewer token from `shopfloor auth token create --role viewer`.")],
    lang: Annotated[str, typer.Option(help="en or zh; omitted, the TV's browser language decides.")] = "",
) -> None:
    """The address a TV opens for the board (the token is then kept in a cookie)."""
    settings = DashboardSettings()
    suffix = f"&lang={lang}" if lang else ""
    typer.echo(f"http://{settings.host}:{settings.port}/board?token={token}{suffix}")
