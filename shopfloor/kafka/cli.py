"""``shopfloor topics``: create the platform's Kafka topics and list them."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from shopfloor.kafka.admin import ensure_topics, list_topics
from shopfloor.settings import KafkaSettings

app = typer.Typer(help="Create and list the Kafka topics.", no_args_is_help=True)
_console = Console()


@app.command()
def create() -> None:
    """Create every platform topic that is missing (partitions and retention from the settings)."""
    settings = KafkaSettings()
    ensure_topics(settings)
    _console.print(f"topics ready on {settings.bootstrap_servers} (prefix {settings.topic_prefix!r})")


@app.command("list")
def list_() -> None:
    """List the platform topics that exist, with their partition counts."""
    table = Table("topic", "partitions")
    for name, partitions in list_topics(KafkaSettings()).items():
        table.add_row(name, str(partitions))
    _console.print(table)
