"""`shopfloor streams orders`: run the order processor (a supervised faust worker)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="The faust order processor: orders, work orders, load, bottlenecks.", no_args_is_help=True)


@app.command()
def run(
    plant: Annotated[Path | None, typer.Option(help="plant YAML (default: the settings' plant_file)")] = None,
    store: Annotated[str | None, typer.Option(help="table store: rocksdb:// (rocksdict) or memory://")] = None,
    supervise: Annotated[bool, typer.Option(help="restart the worker when it exits or stalls")] = True,
) -> None:
    """Consume shopfloor.orders and shopfloor.mes until SIGINT/SIGTERM; restart the worker if it stalls."""
    from streams.orders.settings import OrdersStreamSettings
    from streams.orders.watchdog import supervise as run_supervised

    settings = OrdersStreamSettings()
    args = []
    if plant is not None:
        args += ["--plant", str(plant)]
    if store is not None:
        args += ["--store", store]
    if not supervise:
        worker(plant=plant, store=store)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    command = [sys.executable, "-m", "streams.orders.cli", "worker", *args]
    raise typer.Exit(run_supervised(command, settings.restart_backoff_s, settings.max_restarts))


@app.command()
def worker(
    plant: Annotated[Path | None, typer.Option(help="plant YAML")] = None,
    store: Annotated[str | None, typer.Option(help="table store")] = None,
) -> None:
    """One faust worker, unsupervised (what ``run`` starts and restarts)."""
    from streams.orders.worker import run_worker

    run_worker(plant, store)


if __name__ == "__main__":
    app()
