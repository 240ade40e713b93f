"""``shopfloor scan serve`` (HTTP for terminals) and ``shopfloor scan wedge`` (a gun on stdin)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
import yaml

from edge.agent import EdgeAgent
from edge.scan.directory import (
    InMemoryWorkOrderDirectory,
    PostgresWorkOrderDirectory,
    WorkOrderDirectory,
    WorkOrderStatus,
)
from edge.scan.service import ScanService
from edge.scan.state import OperationStates
from edge.scan.wedge import run_wedge
from shopfloor.events import NodeKind
from shopfloor.settings import PROJECT_ROOT, MqttSettings, PostgresSettings

app = typer.Typer(no_args_is_help=True, help="Scan-gun agent: barcode scans to work-order events.")

NodeId = Annotated[str, typer.Option(help="Edge node id (MQTT client and event source).")]
Area = Annotated[str, typer.Option(help="ISA-95 area of the terminals (topic level).")]
Line = Annotated[str, typer.Option(help="ISA-95 line of the terminals (topic level).")]
Queue = Annotated[Path | None, typer.Option(help="Store-and-forward SQLite file [.state/edge/<node-id>.db].")]
Debounce = Annotated[float, typer.Option(help="Seconds within which the same scan again is a double scan.")]
WorkOrders = Annotated[
    Path | None,
    typer.Option(help="YAML map work order id -> status instead of the database's work_order table."),
]


@contextlib.contextmanager
def _service(
    node_id: str, area: str, line: str, queue: Path | None, debounce: float, work_orders: Path | None
) -> Iterator[ScanService]:
    directory: WorkOrderDirectory
    pg: PostgresWorkOrderDirectory | None = None
    if work_orders is not None:
        raw = yaml.safe_load(work_orders.read_text()) or {}
        directory = InMemoryWorkOrderDirectory({str(k): WorkOrderStatus(v) for k, v in raw.items()})
    else:
        directory = pg = PostgresWorkOrderDirectory(PostgresSettings())
    queue_path = queue or PROJECT_ROOT / ".state" / "edge" / f"{node_id}.db"
    # FULL: a scan is an operator's confirmed work; it must survive a power cut too, and scans are few.
    agent = EdgeAgent(
        node_id, NodeKind.SCAN_AGENT, area, line, MqttSettings(), queue_path, queue_sync="FULL", confirmed_delivery=True
    )
    states = OperationStates(queue_path.with_name(f"{queue_path.stem}-operations.db"))
    agent.start()
    try:
        yield ScanService(agent, directory, debounce_s=debounce, states=states)
    finally:
        agent.close()
        states.close()
        if pg is not None:
            pg.close()


@app.command()
def serve(
    node_id: NodeId = "scan-agent",
    area: Area = "area1",
    line: Line = "line1",
    queue: Queue = None,
    debounce: Debounce = 2.0,
    work_orders: WorkOrders = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8081,
) -> None:
    """Serve POST /scans for scan terminals."""
    import uvicorn  # only the server needs it

    from edge.scan.http import create_app

    with _service(node_id, area, line, queue, debounce, work_orders) as service:
        uvicorn.run(create_app(service), host=host, port=port, log_level="info")


@app.command()
def wedge(
    terminal_id: Annotated[str, typer.Option(help="Id of the terminal the gun is attached to.")],
    node_id: NodeId = "scan-wedge",
    area: Area = "area1",
    line: Line = "line1",
    queue: Queue = None,
    debounce: Debounce = 2.0,
    work_orders: WorkOrders = None,
) -> None:
    """Read one barcode per line from stdin (see edge.scan.grammar) and answer on stdout."""
    with _service(node_id, area, line, queue, debounce, work_orders) as service:
        run_wedge(service, terminal_id, sys.stdin, sys.stdout)
