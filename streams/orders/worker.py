"""One worker process: settings, plant, database pool, the faust app, its watchdog."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import faust

from shopfloor.db.pool import make_pool
from shopfloor.kafka.admin import ensure_topics
from shopfloor.plant import load_plant
from shopfloor.settings import KafkaSettings, PostgresSettings
from shopfloor.topics import KafkaTopic, topic_name
from streams.heartbeat import Heartbeat
from streams.orders.app import OrdersProcessor, make_processor
from streams.orders.settings import OrdersStreamSettings
from streams.orders.watchdog import STALLED_EXIT, StallDetector, read_progress
from streams.settings import StreamsSettings

log = logging.getLogger(__name__)

WATCH_EVERY_S = 5.0


def add_watchdog(proc: OrdersProcessor) -> None:
    """A timer that ends the process when the group's committed offsets stop moving under lag."""
    detector = StallDetector(proc.settings.stall_s)
    topics = [topic_name(t, proc.kafka.topic_prefix) for t in (KafkaTopic.ORDERS, KafkaTopic.MES)]
    group = proc.app.conf.id

    async def watch() -> None:
        try:
            progress = await asyncio.to_thread(read_progress, proc.kafka, group, topics)
        except Exception as exc:  # Kafka away: nothing to judge by; faust reconnects on its own
            log.warning("watchdog cannot read offsets: %s", exc)
            return
        if detector.observe(progress, asyncio.get_running_loop().time()):
            log.error(
                "no offsets committed for %.0f s with %d events waiting: exiting", proc.settings.stall_s, progress.lag
            )
            logging.shutdown()
            os._exit(STALLED_EXIT)  # faust's own stop can hang in exactly this state

    proc.app.timer(WATCH_EVERY_S, name="watchdog")(watch)


PROCESSOR_NAME = "orders"


def run_worker(plant_file: Path | None, store: str | None) -> None:
    base = OrdersStreamSettings()
    settings = base.model_copy(update={"store": store}) if store else base
    kafka = KafkaSettings()
    ensure_topics(kafka)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    plant = load_plant(plant_file or settings.plant_file)
    pool = make_pool(PostgresSettings(), name="streams-orders")
    pool.open()
    try:
        proc = make_processor(settings, kafka, plant, pool)
        add_watchdog(proc)
        # "This processor runs" for the dashboards' freshness (a quiet plant is not a stopped processor).
        beat = Heartbeat(PostgresSettings(), PROCESSOR_NAME, interval_s=StreamsSettings().heartbeat_s).start()
        try:
            faust.Worker(proc.app, loglevel="INFO").execute_from_commandline()
        finally:
            beat.stop()
    finally:
        pool.close()
