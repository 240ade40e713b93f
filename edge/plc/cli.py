"""``shopfloor plc run --config FILE`` and ``shopfloor plc check --config FILE``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from edge.plc.config import GatewayConfig, load_config
from shopfloor.settings import MqttSettings

app = typer.Typer(no_args_is_help=True, help="PLC gateway: poll Modbus TCP / OPC UA and publish machine events.")

ConfigFile = Annotated[Path, typer.Option("--config", exists=True, dir_okay=False, help="Gateway YAML file.")]


def _load(path: Path) -> GatewayConfig:
    try:
        return load_config(path)
    except ValidationError as exc:
        typer.echo(f"{path}: invalid configuration:\n{exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def check(config: ConfigFile) -> None:
    """Validate the configuration and list what each machine publishes."""
    gateway = _load(config)
    for machine in gateway.machines:
        source = machine.modbus or machine.opcua
        if machine.modbus is not None:
            where = f"modbus {machine.modbus.host}:{machine.modbus.port}"
        elif machine.opcua is not None:
            where = f"opcua {machine.opcua.endpoint}"
        assert source is not None
        parts = ["state" if source.state else "", "counters" if source.counters else ""]
        parts += [p.name for p in source.process]
        typer.echo(f"{machine.machine_id}: {where}: {', '.join(p for p in parts if p)}")


@app.command()
def run(
    config: ConfigFile,
    queue: Annotated[Path | None, typer.Option(help="Store-and-forward SQLite file (overrides the config).")] = None,
) -> None:
    """Run the gateway until interrupted; events go out through the store-and-forward edge agent."""
    from edge.plc.gateway import run_gateway  # pymodbus / asyncua only for the running gateway

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_gateway(_load(config), MqttSettings(), queue)
