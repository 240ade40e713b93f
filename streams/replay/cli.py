"""``shopfloor replay``: rebuild what a time range feeds, or re-publish a recorded range at ×N speed.

Times are Kafka record timestamps (when an event reached Kafka), ISO 8601 with an offset. Both commands
take ``--dry-run`` (plan only: offsets, counts, what would be written or sent) and print a summary.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from shopfloor.db.pool import connect
from shopfloor.plant import PlantError, load_plant
from shopfloor.settings import KafkaSettings, MqttSettings, PostgresSettings
from shopfloor.topics import KafkaTopic, topic_name
from streams.replay.pacing import parse_speed
from streams.replay.ranges import RetentionError, TimeRange, from_millis
from streams.replay.reader import ReplayReader, TopicPlan
from streams.replay.rebuild import AggregateStage
from streams.replay.rebuild import rebuild as run_rebuild
from streams.replay.republish import KafkaTarget, MqttTarget, Target
from streams.replay.republish import republish as run_republish
from streams.replay.settings import ReplaySettings

app = typer.Typer(help="Rebuild aggregates of a time range, or re-publish a recorded range at ×N speed.")
_console = Console()
_REBUILD_TOPICS = (KafkaTopic.TELEMETRY, KafkaTopic.MES)

StartOpt = Annotated[datetime, typer.Option("--start", help="Record time to start at (ISO 8601 with offset).")]
EndOpt = Annotated[datetime | None, typer.Option("--end", help="Record time to stop before; default: now.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Say what would happen; read and write nothing.")]


def parse_topic(name: str) -> KafkaTopic:
    """``telemetry``, ``mes`` ... or the full ``shopfloor.telemetry``."""
    for topic in KafkaTopic:
        if name in (topic.value, topic.value.removeprefix("shopfloor.")):
            return topic
    raise typer.BadParameter(f"unknown topic {name!r}; one of {', '.join(t.value for t in KafkaTopic)}")


def time_range(start: datetime, end: datetime | None) -> TimeRange:
    try:
        return TimeRange(start, end)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def make_plans(reader: ReplayReader, names: list[str], span: TimeRange) -> list[TopicPlan]:
    try:
        return [reader.plan(name, span) for name in names]
    except (RetentionError, ValueError) as exc:
        _console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def show_plans(plans: list[TopicPlan]) -> None:
    table = Table("topic", "partition", "from offset", "to offset", "records")
    for plan in plans:
        for part in plan.partitions:
            table.add_row(plan.topic, str(part.partition), str(part.start), str(part.end), str(part.count))
    _console.print(table)
    for plan in plans:
        oldest = plan.oldest.isoformat() if plan.oldest else "empty topic"
        end = plan.time_range.end.isoformat() if plan.time_range.end else "the end offsets read now"
        _console.print(
            f"{plan.topic}: {plan.count} records from {plan.time_range.start.isoformat()} to {end} "
            f"(oldest available: {oldest})"
        )


@contextmanager
def progress_bar() -> Iterator[Progress]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=_console, transient=False) as bar:
        yield bar


@app.command()
def rebuild(
    start: StartOpt,
    end: EndOpt = None,
    topic: Annotated[list[str], typer.Option(help="Topic(s) to re-read (default telemetry and mes).")] = [],  # noqa: B006
    utilization: Annotated[bool, typer.Option(help="Recompute the utilization minutes the range affects.")] = True,
    plant: Annotated[Path | None, typer.Option(help="Plant YAML (default: the streams' plant file).")] = None,
    recovery_dir: Annotated[
        Path | None, typer.Option(help="Resume a crashed rebuild from its recovery directory (default: a new one).")
    ] = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Re-read the range and recompute its raw rows and aggregates (idempotent: run it as often as needed)."""
    settings, kafka, pg = ReplaySettings(), KafkaSettings(), PostgresSettings()
    with_utilization = utilization and KafkaTopic.TELEMETRY in [parse_topic(name) for name in topic or ["telemetry"]]
    topics = [parse_topic(name) for name in topic] or list(_REBUILD_TOPICS)
    span = time_range(start, end)
    with ReplayReader(kafka) as reader:
        plans = make_plans(reader, [topic_name(t, kafka.topic_prefix) for t in topics], span)
        show_plans(plans)
        names = ["raw tables (machine_state, machine_counter, machine_process, mes_event)"]
        if with_utilization:
            names.append("machine_utilization_1m minutes of every machine the range touches (replacing upserts)")
        if dry_run:
            _console.print(f"dry run: would read {sum(p.count for p in plans)} records and rewrite " + "; ".join(names))
            _console.print(f"into PostgreSQL {pg.host}:{pg.port}/{pg.dbname} schema {pg.db_schema}; nothing done")
            return
        total = sum(p.count for p in plans)
        stages: list[AggregateStage] = []
        recovery = recovery_dir or settings.recovery_root / f"rebuild-{uuid.uuid4().hex[:12]}"
        if with_utilization:
            from streams.replay.utilization import UtilizationStage
            from streams.settings import StreamsSettings

            try:
                model = load_plant(plant or StreamsSettings().plant_file)
            except PlantError as exc:
                raise typer.BadParameter(str(exc), param_hint="--plant") from None
            stages.append(UtilizationStage(pg, model, recovery))
            _console.print(f"recovery directory of this rebuild: {recovery}")
        with connect(pg) as conn, progress_bar() as bar:
            task = bar.add_task("rebuild", total=total)
            summary = run_rebuild(
                reader,
                plans,
                conn,
                stages,
                batch_size=settings.batch_size,
                progress=lambda n: bar.advance(task, n),
            )
    if with_utilization:
        shutil.rmtree(recovery, ignore_errors=True)  # done: nothing left to resume
    for line in summary.lines():
        _console.print(line)


@app.command()
def republish(
    start: StartOpt,
    end: EndOpt = None,
    topic: Annotated[str, typer.Option(help="Topic to read (telemetry, mes, ...).")] = "telemetry",
    to_topic: Annotated[str | None, typer.Option(help="Kafka topic to send to (full name).")] = None,
    mqtt: Annotated[bool, typer.Option("--mqtt", help="Send back over MQTT through edge agents.")] = False,
    plant: Annotated[Path | None, typer.Option(help="Plant YAML (with --mqtt): each machine's topic.")] = None,
    speed: Annotated[str, typer.Option(help="×N of the recorded pace, or 'max'.")] = "1",
    dry_run: DryRunOpt = False,
) -> None:
    """Send the recorded range again, paced at ×N: send_at = t0 + (ts - ts0) / N, order per key kept."""
    if (to_topic is None) == (not mqtt):
        raise typer.BadParameter("give exactly one of --to-topic NAME or --mqtt")
    if mqtt and plant is None:
        raise typer.BadParameter("--mqtt needs --plant PATH (machine -> area/line of its topic)")
    try:
        factor = parse_speed(speed)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--speed") from None
    kafka, mqtt_settings = KafkaSettings(), MqttSettings()
    source = topic_name(parse_topic(topic), kafka.topic_prefix)
    span = time_range(start, end)
    with ReplayReader(kafka) as reader:
        (plan,) = make_plans(reader, [source], span)
        show_plans([plan])
        if to_topic is not None and to_topic == source:
            raise typer.BadParameter("--to-topic is the topic being read", param_hint="--to-topic")
        where = f"Kafka topic {to_topic}" if to_topic else f"MQTT {mqtt_settings.host}:{mqtt_settings.port}"
        if dry_run:
            span_s = recorded_span_s(reader, plan)
            pace = "as fast as possible" if math.isinf(factor) else f"in about {span_s / factor:.1f} s at x{factor:g}"
            _console.print(f"dry run: would send {plan.count} records to {where} {pace}; nothing sent")
            return
        with tempfile.TemporaryDirectory(prefix="shopfloor-replay-") as scratch:
            target: Target
            if to_topic is not None:
                target = KafkaTarget(kafka, to_topic)
            else:
                assert plant is not None
                try:
                    model = load_plant(plant)
                except PlantError as exc:
                    raise typer.BadParameter(str(exc), param_hint="--plant") from None
                target = MqttTarget(model, mqtt_settings, Path(scratch))
            with progress_bar() as bar:
                task = bar.add_task("re-publish", total=plan.count)
                summary = run_republish(
                    reader.read_partitions(plan), target, factor, progress=lambda n: bar.advance(task, n)
                )
    for line in summary.lines():
        _console.print(line)


def recorded_span_s(reader: ReplayReader, plan: TopicPlan) -> float:
    """Seconds between the first and the last record timestamp of the plan (first and last per partition)."""
    stamps: list[int] = []
    for part in plan.partitions:
        if part.count:
            for offset in (part.start, part.end - 1):
                found = reader.timestamp_at(plan.topic, part.partition, offset)
                if found is not None:
                    stamps.append(found)
    if not stamps:
        return 0.0
    return (from_millis(max(stamps)) - from_millis(min(stamps))).total_seconds()
