"""``shopfloor plant``: show and validate a plant YAML file. A broken file exits with code 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.tree import Tree

from shopfloor.plant.loader import PlantError, load_plant
from shopfloor.plant.plant import Plant

app = typer.Typer(no_args_is_help=True)

PlantPath = Annotated[Path, typer.Argument(help="Plant YAML file, e.g. infra/plants/demo.yaml")]


def _load_or_exit(path: Path) -> Plant:
    try:
        return load_plant(path)
    except PlantError as exc:
        # Plain stderr, not rich: each problem stays on one greppable file:line:column line.
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from None


def plant_tree(plant: Plant) -> Tree:
    """Site -> workshops -> lines -> machines; workcenters; counts of the master data."""
    root = Tree(f"[bold]{plant.enterprise_id}/{plant.site_id}[/bold] {plant.site_name} ({plant.timezone})")
    shop_floor = root.add("workshops")
    for ws in plant.workshops:
        ws_node = shop_floor.add(f"[bold]{ws.id}[/bold] {ws.name} / {ws.name_zh}")
        for line in ws.lines:
            line_node = ws_node.add(f"{line.id} {line.name}")
            for m in line.machines:
                line_node.add(f"{m.id} {m.name}  [dim]wc={m.workcenter_id} cycle={m.ideal_cycle_s:g}s[/dim]")
    centers = root.add("workcenters")
    for wc in plant.workcenters:
        flags = " [red]BOTTLENECK[/red]" if wc.bottleneck else ""
        flags += " [yellow]batch[/yellow]" if wc.batch else ""
        centers.add(f"{wc.id} {wc.name} ({len(wc.machine_ids)} machines, calendar {wc.calendar_id}){flags}")
    counts = plant.counts()
    strategic = sum(1 for c in plant.customers if c.strategic)
    root.add(
        f"products: {counts['products']}  customers: {counts['customers']} ({strategic} strategic)  "
        f"materials: {counts['materials']}  machines: {counts['machines']}"
    )
    return root


@app.command()
def show(path: PlantPath) -> None:
    """Print the plant as a tree."""
    Console(width=160).print(plant_tree(_load_or_exit(path)))


@app.command()
def validate(path: PlantPath) -> None:
    """Check a plant file; exit code 2 and the line of each problem when it is broken."""
    plant = _load_or_exit(path)
    counts = ", ".join(f"{n} {what}" for what, n in plant.counts().items())
    typer.echo(f"{path}: ok ({counts})")


@app.command()
def schema() -> None:
    """Print the JSON Schema of a plant file (for editor completion, e.g. yaml-language-server)."""
    typer.echo(json.dumps(Plant.model_json_schema(), indent=2, ensure_ascii=False))
