"""``shopfloor sim --plant infra/plants/demo.yaml --speed 60 [--duration 10m] [--seed 1] [--faults ...]``.

Durations and offsets are simulated time (``--duration 10m`` at ``--speed 60`` runs ten real seconds);
a flood's rate is in real messages per second. MQTT broker, enterprise and site come from
``SHOPFLOOR_MQTT_*`` (``--enterprise`` / ``--site`` override them).
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from edge.sim.config import Behaviour, Breakdown, Flood, SimConfig, Troubles, default_start, parse_duration
from edge.sim.faults import MalformedKind
from edge.sim.hubfeed import HubFeed, sim_order_book
from edge.sim.runner import SimRunner
from shopfloor.plant import PlantError, load_plant
from shopfloor.settings import MqttSettings

app = typer.Typer(help="Simulate a plant and publish its events over MQTT.")


def _troubles(
    faults: str, dup: float | None, late: float | None, late_by: str | None, ooo: float | None,
    malformed: float | None, malformed_kinds: str | None, skew: str | None, skew_node: list[str], flood: list[str],
) -> Troubles:  # fmt: skip
    """``--faults`` first, then the single flags on top of it."""
    base = Troubles.parse(faults).model_dump()
    flags = {"duplicate_rate": dup, "late_rate": late, "out_of_order_rate": ooo, "malformed_rate": malformed}
    base.update({key: value for key, value in flags.items() if value is not None})
    if late_by is not None:
        base["late_by"] = parse_duration(late_by)
    if malformed_kinds is not None:
        base["malformed_kinds"] = [MalformedKind(kind) for kind in malformed_kinds.split(",")]
    if skew is not None:
        base["clock_skew_max"] = parse_duration(skew)
    for item in skew_node:
        node, _, offset = item.partition("=")
        negative = offset.startswith("-")
        value = parse_duration(offset.lstrip("+-"))
        base["clock_skew"][node] = -value if negative else value
    base["floods"] = [Flood.parse(spec) for spec in flood]
    return Troubles.model_validate(base)


@app.callback(invoke_without_command=True)
def sim(
    plant: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Plant YAML file.")],
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second (60: a minute per second).")] = 1.0,
    duration: Annotated[str, typer.Option(help="Simulated span, e.g. 10m, 8h, 2d.")] = "8h",
    seed: Annotated[int, typer.Option(help="Same seed, same event stream.")] = 1,
    start: Annotated[datetime | None, typer.Option(help="Simulated start (ISO, with offset); default now.")] = None,
    faults: Annotated[str, typer.Option(help="e.g. dup=0.01,late=0.02,late_by=20m,ooo=0.01,malformed=0.005")] = "",
    dup: Annotated[float | None, typer.Option(help="Share of events sent twice.")] = None,
    late: Annotated[float | None, typer.Option(help="Share of events delivered late.")] = None,
    late_by: Annotated[str | None, typer.Option(help="How late (simulated), e.g. 15m.")] = None,
    ooo: Annotated[float | None, typer.Option(help="Share of events delivered after the node's next one.")] = None,
    malformed: Annotated[float | None, typer.Option(help="Rate of malformed messages per event.")] = None,
    malformed_kinds: Annotated[str | None, typer.Option(help="Comma-separated MalformedKind values.")] = None,
    skew: Annotated[str | None, typer.Option(help="Max clock skew per node, e.g. 30s.")] = None,
    skew_node: Annotated[list[str], typer.Option(help="NODE=[+-]DURATION, e.g. sim-HEAD-L1=-45s.")] = [],  # noqa: B006
    flood: Annotated[list[str], typer.Option(help="MACHINE@START:DURATION:RATE, e.g. H2@5m:2m:500.")] = [],  # noqa: B006
    breakdown: Annotated[list[str], typer.Option("--break", help="MACHINE@START:DURATION, e.g. H2@10m:45m.")] = [],  # noqa: B006
    no_random_failures: Annotated[bool, typer.Option(help="Only the --break breakdowns.")] = False,
    event_log: Annotated[Path | None, typer.Option(help="Write every message sent to this JSONL file.")] = None,
    queue_dir: Annotated[Path | None, typer.Option(help="Keep the agents' outboxes here (default: temporary).")] = None,
    dry_run: Annotated[bool, typer.Option(help="No MQTT, no pacing: just the event log and summary.")] = False,
    confirmed_delivery: Annotated[
        bool, typer.Option(help="Keep each event until the bridge confirms Kafka has it (needs a running bridge).")
    ] = False,
    order_hub: Annotated[
        str | None,
        typer.Option(
            help="Send the orders through this order hub (backlog first, later orders as they come); token in "
            "SHOPFLOOR_SIM_HUB_TOKEN (roles sales, planner, finance, engineering), marketplace secret in "
            "SHOPFLOOR_SIM_MARKETPLACE_SECRET."
        ),
    ] = None,
    enterprise: Annotated[str | None, typer.Option(help="MQTT enterprise level (default from settings).")] = None,
    site: Annotated[str | None, typer.Option(help="MQTT site level (default from settings).")] = None,
) -> None:
    """Run the plant for the simulated span and publish its events; print a summary at exit."""
    try:
        model = load_plant(plant)
        config = SimConfig(
            seed=seed,
            start=start or default_start(),
            duration=parse_duration(duration),
            speed=speed,
            behaviour=Behaviour(random_failures=not no_random_failures),
            troubles=_troubles(faults, dup, late, late_by, ooo, malformed, malformed_kinds, skew, skew_node, flood),
            breakdowns=[Breakdown.parse(spec) for spec in breakdown],
        )
        known = {machine.id for machine in model.all_machines()}
        named = [b.machine_id for b in config.breakdowns] + [f.machine_id for f in config.troubles.floods]
        unknown = sorted(set(named) - known)
        if unknown:
            raise ValueError(f"the plant has no machine {', '.join(unknown)}")
    except (PlantError, ValidationError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    feed = None
    if order_hub:
        feed = HubFeed(
            order_hub,
            os.environ.get("SHOPFLOOR_SIM_HUB_TOKEN", ""),
            os.environ.get("SHOPFLOOR_SIM_MARKETPLACE_SECRET", ""),
        )
        book = sim_order_book(model, config.start, config.duration.total_seconds() / 86400.0, config.seed)
        typer.echo(f"sent {feed.send_backlog(book, config.start)} backlog orders through the order hub")
    mqtt = MqttSettings()
    mqtt = mqtt.model_copy(update={"enterprise": enterprise or mqtt.enterprise, "site": site or mqtt.site})
    stop = threading.Event()
    # Ctrl-C or a TERM ends the run cleanly: outboxes flushed, death published, summary printed.
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with tempfile.TemporaryDirectory(prefix="shopfloor-sim-") as scratch:
            aliases = feed.aliases if feed is not None else None
            runner = SimRunner(
                model,
                config,
                mqtt,
                queue_dir or Path(scratch),
                event_log=event_log,
                dry_run=dry_run,
                confirmed_delivery=confirmed_delivery,
                aliases=aliases,
            )
            if feed is not None:
                feed.follow(book, config.start, speed, stop)
            typer.echo(
                f"simulating {config.duration} of {model.site_id} from {config.start:%Y-%m-%d %H:%M} UTC "
                f"at speed {speed:g} (about {config.duration.total_seconds() / speed:.0f} s)"
            )
            summary = runner.run(stop)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if feed is not None:
            stop.set()
            typer.echo(f"order hub: {feed.sent} orders sent, {feed.changed} changed, {feed.failed} refused")
            feed.close()
    for line in summary.lines():
        typer.echo(line)
