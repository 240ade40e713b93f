"""Run the utilization flow on Kafka and PostgreSQL, with recovery on."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bytewax._bytewax import cli_main
from bytewax.dataflow import Dataflow
from bytewax.recovery import RecoveryConfig, init_db_dir

from shopfloor.db.pool import connect
from shopfloor.events import utcnow
from shopfloor.plant import load_plant
from shopfloor.settings import KafkaSettings, PostgresSettings
from streams.rollups import sync_calendar
from streams.settings import StreamsSettings
from streams.utilization.flow import build_flow
from streams.utilization.planned import PlantCalendar
from streams.utilization.sink import UtilizationSink
from streams.utilization.source import telemetry_source

log = logging.getLogger(__name__)


def ensure_recovery_dir(directory: Path, partitions: int) -> bool:
    """Create the SQLite recovery partitions once (as ``python -m bytewax.recovery DIR N``); True if made.

    The count never changes afterwards: it caps the workers the flow can ever run on.
    """
    if directory.is_dir() and any(directory.glob("part-*.sqlite3")):
        return False
    directory.mkdir(parents=True, exist_ok=True)
    init_db_dir(directory, partitions)  # type: ignore[no-untyped-call]
    return True


def live_flow(settings: StreamsSettings, kafka: KafkaSettings, pg: PostgresSettings) -> Dataflow:
    """The flow on the live telemetry topic, writing to PostgreSQL; syncs the shift calendar first."""
    plant = load_plant(settings.plant_file)
    now = datetime.now(UTC)
    with connect(pg) as conn:
        sync_calendar(conn, plant, now - timedelta(days=7), now + timedelta(days=14))
    return build_flow(
        telemetry_source(kafka, settings.source_batch_size),
        UtilizationSink(pg),
        utcnow,
        calendar=PlantCalendar(plant),
        lateness=timedelta(seconds=settings.lateness_s),
    )


def run(settings: StreamsSettings, kafka: KafkaSettings, pg: PostgresSettings) -> None:
    """Run until interrupted; a restart resumes from the newest snapshot in ``settings.recovery_dir``."""
    if ensure_recovery_dir(settings.recovery_dir, settings.recovery_partitions):
        log.info("created %d recovery partitions in %s", settings.recovery_partitions, settings.recovery_dir)
    flow = live_flow(settings, kafka, pg)
    cli_main(  # type: ignore[no-untyped-call]
        flow,
        workers_per_process=settings.workers,
        epoch_interval=timedelta(seconds=settings.snapshot_interval_s),
        recovery_config=RecoveryConfig(  # type: ignore[no-untyped-call]
            str(settings.recovery_dir), backup_interval=timedelta(seconds=settings.backup_interval_s)
        ),
    )
