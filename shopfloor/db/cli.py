"""``shopfloor db``: apply migrations, show their status, keep partitions and retention."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from shopfloor.db import migrate as migrations
from shopfloor.db.pool import connect
from shopfloor.settings import PostgresSettings

app = typer.Typer(help="Database migrations and maintenance.", no_args_is_help=True)
_console = Console()


@app.command()
def migrate() -> None:
    """Create the schema if missing and apply pending migrations (idempotent), then the partitions ahead."""
    settings = PostgresSettings()
    done = migrations.migrate(settings)
    applied = ", ".join(f"{version:03d}" for version in done) or "none (up to date)"
    _console.print(f"schema {settings.db_schema}: applied {applied}")


@app.command()
def status() -> None:
    """List every migration and when it was applied."""
    settings = PostgresSettings()
    table = Table("version", "name", "applied at")
    for row in migrations.status(settings):
        table.add_row(f"{row.version:03d}", row.name, row.applied_at.isoformat() if row.applied_at else "pending")
    _console.print(table)


@app.command()
def maintain() -> None:
    """Drain DEFAULT partitions into their days, create daily partitions ahead, apply the retention.

    Exits 1 when a table failed (the others were maintained)."""
    settings = PostgresSettings()
    with connect(settings, autocommit=True) as conn, migrations.migration_lock(conn, settings.db_schema):
        report = migrations.maintain(conn, settings)
    dropped = report.dropped
    _console.print(f"created {len(report.created)} partitions, dropped {len(dropped)}: {', '.join(dropped) or '-'}")
    for table, rows in sorted(report.moved.items()):
        _console.print(f"{table}: moved {rows} rows out of the DEFAULT partition into their days")
    for table, rows in sorted(report.expired.items()):
        _console.print(f"{table}: deleted {rows} rows older than the retention from the DEFAULT partition")
    for table, error in sorted(report.failed.items()):
        _console.print(f"[red]{table}: FAILED[/red] {error}")
    if report.failed:
        raise typer.Exit(1)
