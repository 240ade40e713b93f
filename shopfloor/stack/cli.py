"""``shopfloor stack up|down|status|logs``: run the local Kafka, PostgreSQL and Mosquitto."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from shopfloor.stack.process import StackError, tail
from shopfloor.stack.stack import SERVER_NAMES, Stack

app = typer.Typer(no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


def _fail(exc: Exception) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
    return typer.Exit(1)


def _stack() -> Stack:
    """The stack of the current settings; a bad setting or node list is a clear error, not a traceback."""
    try:
        return Stack()
    except (StackError, ValidationError, ValueError, OSError) as exc:
        raise _fail(exc) from None


@app.command()
def up() -> None:
    """Start every server not yet running and wait until each accepts clients."""
    stack = _stack()
    try:
        stack.up()
    except StackError as exc:
        raise _fail(exc) from None
    console.print(f"stack up in {stack.settings.state_dir}")


@app.command()
def down() -> None:
    """Stop the servers that `up` started (SIGTERM, then SIGKILL after a timeout)."""
    try:
        _stack().down()
    except StackError as exc:
        raise _fail(exc) from None
    console.print("stack down")


@app.command()
def status() -> None:
    """Table of servers, ports, pids and health; exit code 1 unless every server is healthy."""
    rows = _stack().status()
    table = Table(title="shopfloor local stack")
    for column in ("server", "port", "pid", "healthy", "log"):
        table.add_column(column)
    for row in rows:
        healthy = "[green]yes[/]" if row.healthy else "[red]no[/]"
        table.add_row(row.name, str(row.port), str(row.pid or "-"), healthy, str(row.log_file))
    console.print(table)
    if not all(row.healthy for row in rows):
        raise typer.Exit(1)


@app.command()
def logs(
    server: Annotated[str | None, typer.Argument(help=f"one of {', '.join(SERVER_NAMES)}; all when omitted")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="lines from the end of each log")] = 40,
) -> None:
    """Print the tail of a server's log."""
    stack = _stack()
    try:
        names = [server] if server else list(SERVER_NAMES)
        files = {name: stack.log_file(name) for name in names}
    except StackError as exc:
        raise _fail(exc) from None
    for name, path in files.items():
        console.rule(f"{name}: {path}")
        console.print(tail(path, lines), markup=False, highlight=False, soft_wrap=True)
