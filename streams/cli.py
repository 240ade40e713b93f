"""``shopfloor streams``: the stream processors (raw sink, utilization, roll-ups; orders from streams.orders).

Settings come from the environment (``SHOPFLOOR_STREAMS_*``, ``SHOPFLOOR_KAFKA_*``, ``SHOPFLOOR_PG_*``).
"""

from __future__ import annotations

import importlib
import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from prometheus_client import start_http_server

from shopfloor.db.pool import connect
from shopfloor.plant import load_plant
from shopfloor.settings import KafkaSettings, PostgresSettings
from streams.settings import StreamsSettings

app = typer.Typer(no_args_is_help=True)
raw_app = typer.Typer(no_args_is_help=True, help="Raw sink: telemetry and MES events into the raw tables.")
utilization_app = typer.Typer(no_args_is_help=True, help="Utilization and OEE per machine per minute (bytewax).")
rollups_app = typer.Typer(no_args_is_help=True, help="Hourly, shift and day roll-ups.")
app.add_typer(raw_app, name="raw")
app.add_typer(utilization_app, name="utilization")
app.add_typer(rollups_app, name="rollups")

# Sub-apps of other stream processors, by module name; a module not built yet is skipped.
SUB_APPS: dict[str, tuple[str, str]] = {
    "orders": ("streams.orders.cli", "Orders, work orders, load and bottlenecks (faust)."),
}


_registered: set[str] = set()


def _register() -> None:
    for name, (module, help_text) in SUB_APPS.items():
        if name in _registered:
            continue
        try:
            sub = importlib.import_module(module).app
        except ModuleNotFoundError as exc:
            if exc.name is not None and module.startswith(exc.name):
                continue
            raise
        app.add_typer(sub, name=name, help=help_text)
        _registered.add(name)


_register()


@app.callback()
def _group() -> None:
    """Stream processors: raw sink, utilization/OEE, roll-ups, orders."""


def _logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


LogLevel = Annotated[str, typer.Option(help="Logging level.")]
MetricsPort = Annotated[int | None, typer.Option(help="Serve Prometheus metrics on this port (0: none).")]


@raw_app.command("run")
def raw_run(metrics_port: MetricsPort = None, log_level: LogLevel = "INFO") -> None:
    """Consume shopfloor.telemetry and shopfloor.mes (consumer group) into PostgreSQL until SIGTERM."""
    from streams.raw.sink import RawSink

    _logging(log_level)
    settings = StreamsSettings()
    port = settings.raw_metrics_port if metrics_port is None else metrics_port
    if port:
        start_http_server(port)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with connect(PostgresSettings()) as conn:
        total = RawSink(conn, KafkaSettings(), settings).run(stop)
    typer.echo(f"raw sink stopped after {total} messages")


@utilization_app.command("run")
def utilization_run(metrics_port: MetricsPort = None, log_level: LogLevel = "INFO") -> None:
    """Run the utilization flow (recovery on: a restart resumes from its newest snapshot)."""
    from streams.utilization.run import run

    _logging(log_level)
    settings = StreamsSettings()
    port = settings.utilization_metrics_port if metrics_port is None else metrics_port
    if port:
        start_http_server(port)
    run(settings, KafkaSettings(), PostgresSettings())


@utilization_app.command("init-recovery")
def utilization_init_recovery(
    directory: Annotated[Path | None, typer.Option(help="Recovery directory (default: the settings').")] = None,
    partitions: Annotated[int | None, typer.Option(help="Partition count, fixed forever: the most workers.")] = None,
) -> None:
    """Create the SQLite recovery partitions once (what `python -m bytewax.recovery DIR N` does)."""
    from streams.utilization.run import ensure_recovery_dir

    settings = StreamsSettings()
    where = directory or settings.recovery_dir
    count = partitions or settings.recovery_partitions
    if ensure_recovery_dir(where, count):
        typer.echo(f"created {count} recovery partitions in {where}")
    else:
        typer.echo(f"{where} already holds recovery partitions: left as they are")


@rollups_app.command("sync")
def rollups_sync(
    plant_file: Annotated[Path | None, typer.Option("--plant", help="Plant model YAML.")] = None,
    days_back: Annotated[int, typer.Option(help="Shift occurrences from this many days ago.")] = 7,
    days_ahead: Annotated[int, typer.Option(help="... to this many days ahead.")] = 14,
) -> None:
    """Write the plant calendar and shift occurrences the shift and day roll-ups group by."""
    from streams.rollups import db_path, sync_calendar

    plant = load_plant(plant_file or StreamsSettings().plant_file)
    now = datetime.now(UTC)
    with connect(PostgresSettings()) as conn:
        written = sync_calendar(conn, plant, now - timedelta(days=days_back), now + timedelta(days=days_ahead))
        path = db_path(conn)
    typer.echo(f"{written} shift occurrences written ({path})")
