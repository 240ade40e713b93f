"""`shopfloor schedule`: solve benchmark instances, and run the rescheduler service."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Solve schedules and run the rescheduler service.", no_args_is_help=True)


class InstanceFormat(StrEnum):
    JSSP = "jssp"
    FJSP = "fjsp"


@app.command()
def solve(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="instance file")],
    fmt: Annotated[InstanceFormat, typer.Option("--format", help="jssp (OR-Library) or fjsp (Brandimarte)")],
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.01, help="seconds")] = 10.0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="CP-SAT search workers")] = 2,
) -> None:
    """Minimize the makespan of a benchmark instance, check the schedule, print one JSON object."""
    from rescheduler.instances import load
    from rescheduler.instances.orlib import InstanceFormatError
    from rescheduler.model import NoSolutionError, SolveParams, check
    from rescheduler.model import solve as solve_problem

    try:
        problem = load(file, fmt.value)
    except InstanceFormatError as exc:
        typer.echo(json.dumps({"instance": file.stem, "status": "INVALID_INSTANCE", "error": str(exc)}))
        raise typer.Exit(2) from exc
    params = SolveParams(objective="makespan", time_limit_s=time_limit, num_workers=workers)
    try:
        solution = solve_problem(problem, params)
    except NoSolutionError as exc:
        typer.echo(json.dumps({"instance": problem.name, "status": exc.status, "error": str(exc)}))
        raise typer.Exit(2) from exc
    violations = check(problem, solution)
    report = {
        "instance": problem.name,
        "format": fmt.value,
        "jobs": len(problem.jobs),
        "machines": len(problem.machines),
        "operations": problem.op_count(),
        "makespan": solution.makespan,
        "lower_bound": solution.bounds.get("makespan"),
        "status": solution.status.value,
        "wall_s": round(solution.wall_s, 3),
        "workers": workers,
        "violations": len(violations),
    }
    typer.echo(json.dumps(report))
    if violations:
        for v in violations[:20]:
            typer.echo(f"violation: {v.kind}: {v.detail}", err=True)
        raise typer.Exit(1)


@app.command()
def serve(
    plant: Annotated[Path, typer.Option("--plant", help="plant model YAML")] = Path("infra/plants/demo.yaml"),
    debounce_s: Annotated[float, typer.Option("--debounce-s", help="wait for quiet before re-planning")] = 2.0,
    time_limit_s: Annotated[float, typer.Option("--time-limit-s", help="solver time per re-plan")] = 5.0,
    http_port: Annotated[int | None, typer.Option("--http-port", help="HTTP API port (none: no HTTP)")] = None,
) -> None:
    """Run the rescheduler service: consume orders and shop events, publish plans and alerts."""
    from rescheduler.service import serve as run_service  # the service is built on top of the model

    run_service(plant=plant, debounce_s=debounce_s, time_limit_s=time_limit_s, http_port=http_port)
