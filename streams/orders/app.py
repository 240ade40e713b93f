"""The order processor: a faust app over ``shopfloor.orders`` and ``shopfloor.mes``.

Agents take events in batches (``take_events``): each batch becomes one database transaction, and
faust acknowledges the batch's offsets only after the body returns, i.e. after the commit
(at-least-once; every write is a replacing upsert, so a redelivered batch is harmless). Work-order
progress lives in the changelog-backed table ``wo-progress`` (the set of each work order's events,
see :mod:`streams.orders.progress`), so a restarted worker derives the same totals. Timers on the
leader compute workcenter load, bottlenecks (every ``load_interval_s``), the order pool and on-time
delivery (every ``pool_interval_s``) from the current-state tables.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import faust
from faust.streams import _current_event  # the context faust's tables read the changelog partition from
from psycopg_pool import ConnectionPool

from shopfloor.db.pool import Connection
from shopfloor.deadletter import DeadLetter
from shopfloor.events import (
    EventError,
    OrderApprovedEvent,
    OrderCancelledEvent,
    OrderChangedEvent,
    OrderCreatedEvent,
    WoFinishedEvent,
    WoPausedEvent,
    WoReleasedEvent,
    WoReportedEvent,
    WoResumedEvent,
    WoStartedEvent,
    parse_event,
    utcnow,
)
from shopfloor.plant import Plant
from shopfloor.settings import KafkaSettings
from shopfloor.topics import KafkaTopic, topic_name
from streams.bottleneck.detect import BottleneckDetector, Cleared, Detected, DetectorConfig
from streams.bottleneck.publish import read_active, record, to_event
from streams.orders import progress
from streams.orders.kpis import write_loads, write_on_time_delivery, write_order_pool, write_workshop_pending
from streams.orders.load import compute_loads, read_machines_down, read_queues
from streams.orders.settings import OrdersStreamSettings
from streams.orders.sink import Batch, write_batch

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
DB_RETRY_MAX_S = 30.0


@dataclass
class Stats:
    """Counters the benchmark, the watchdog and the tests read."""

    events: int = 0
    batches: int = 0
    rejected: int = 0
    bottleneck_events: int = 0
    last_write: float = field(default_factory=time.monotonic)
    load_ticks: int = 0


class OrdersProcessor:
    def __init__(
        self,
        settings: OrdersStreamSettings,
        kafka: KafkaSettings,
        plant: Plant,
        pool: ConnectionPool[Connection],
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.kafka = kafka
        self.plant = plant
        self.pool = pool
        self.clock = clock
        self.stats = Stats()
        self.detector = BottleneckDetector(
            DetectorConfig(
                settings.bottleneck_horizon, settings.enter_ratio, settings.exit_ratio, settings.clear_hold_s
            ),
            frozenset(wc.id for wc in plant.bottleneck_workcenters()),
        )
        self._restored = False
        self._seq = 0
        prefix = kafka.topic_prefix
        self.app = faust.App(
            f"{prefix}{settings.app_id}",
            broker=f"kafka://{kafka.bootstrap_servers}",
            store=settings.store,
            datadir=str(settings.data_dir),
            topic_partitions=kafka.partitions,
            topic_replication_factor=kafka.replication_factor,
            topic_allow_declare=True,
            web_enabled=False,
            producer_acks=-1,
            consumer_auto_offset_reset="earliest",
            # Offsets are committed on faust's interval (2.8 s) after the acks of written batches; a
            # larger stream buffer keeps take_events' batches full between database writes.
            stream_buffer_maxsize=4 * settings.batch_max,
            broker_max_poll_records=settings.batch_max,
        )
        raw: dict[str, Any] = {
            "key_type": bytes,
            "value_type": bytes,
            "key_serializer": "raw",
            "value_serializer": "raw",
        }
        self.orders_topic = self.app.topic(topic_name(KafkaTopic.ORDERS, prefix), **raw)
        self.mes_topic = self.app.topic(topic_name(KafkaTopic.MES, prefix), **raw)
        self.bottleneck_topic = self.app.topic(topic_name(KafkaTopic.BOTTLENECKS, prefix), **raw)
        self.deadletter_topic = self.app.topic(topic_name(KafkaTopic.DEADLETTER, prefix), **raw)
        self.progress = self.app.Table("wo-progress", default=None, partitions=kafka.partitions, key_type=str)
        # faust pauses every stream whenever more than 100 changelog records wait in its producer buffer
        # and then sends them one by one; a batch touches up to batch_max work orders, so that pause came
        # after every batch and capped the processor at about 1,500 events/s. Let a few batches queue.
        self.app.producer.buffer.max_messages = 4 * settings.batch_max
        self.app.agent(self.orders_topic, name="orders")(self._orders_agent)
        self.app.agent(self.mes_topic, name="mes")(self._mes_agent)
        self.app.timer(settings.load_interval_s, on_leader=True, name="load")(self.load_tick)
        self.app.timer(settings.pool_interval_s, on_leader=True, name="pool")(self.pool_tick)

    # --- input ------------------------------------------------------------------------------------------

    async def _parse(self, event: Any, topic: str) -> Any:
        raw = event.value if isinstance(event.value, bytes) else bytes(event.value or b"")
        try:
            return parse_event(raw)
        except EventError as exc:
            self.stats.rejected += 1
            letter = DeadLetter(
                original=raw,
                source_topic=topic,
                reason_kind=exc.kind.value,
                field=exc.field[:256],
                reason=exc.reason[:2048],
                ts=utcnow(),
                rejected_by=self.settings.app_id,
            )
            await self.deadletter_topic.send(key=event.key, value=letter.to_json())
            log.warning("dead-lettered a message from %s: %s", topic, exc)
            return None

    async def _orders_agent(self, stream: Any) -> None:
        async for events in stream.take_events(self.settings.batch_max, self.settings.batch_within_s):
            batch = Batch()
            for event in events:
                parsed = await self._parse(event, self.orders_topic.get_topic_name())
                if isinstance(parsed, OrderCreatedEvent | OrderApprovedEvent | OrderChangedEvent | OrderCancelledEvent):
                    batch.orders.append(parsed)
                elif isinstance(parsed, WoReleasedEvent):
                    batch.releases[parsed.payload.work_order_id] = parsed.payload
            await self._write(batch, len(events))

    async def _mes_agent(self, stream: Any) -> None:
        async for events in stream.take_events(self.settings.batch_max, self.settings.batch_within_s):
            batch = Batch()
            # Each work order's state is read once, updated with all its events of the batch, written once.
            states: dict[str, tuple[Any, Any]] = {}  # work order -> (state, its last new event)
            for event in events:
                parsed = await self._parse(event, self.mes_topic.get_topic_name())
                if not isinstance(
                    parsed, WoStartedEvent | WoReportedEvent | WoPausedEvent | WoResumedEvent | WoFinishedEvent
                ):
                    continue
                key = parsed.payload.work_order_id
                state, last = states[key] if key in states else (self.progress.get(key), None)
                state, new = progress.apply(state, parsed)
                states[key] = (state, event if new else last)
            for key, (state, last) in states.items():
                if last is not None:
                    # take_events leaves the batch's last event current: point faust's changelog write at an
                    # event of this key, so the key's changelog partition is its input partition.
                    token = _current_event.set(weakref.ref(last))
                    try:
                        self.progress[key] = state
                    finally:
                        _current_event.reset(token)
                for op in progress.operations(key, state):
                    batch.progress[(key, op.seq)] = op
            await self._write(batch, len(events))

    async def _write(self, batch: Batch, events: int) -> None:
        delay = 0.5
        while True:
            try:
                if len(batch):
                    await asyncio.to_thread(self._write_sync, batch)
                break
            except Exception:
                # The database is away: hold the batch (its offsets stay uncommitted) and retry.
                log.exception("writing a batch of %d events failed; retrying in %.1f s", events, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, DB_RETRY_MAX_S)
        self.stats.events += events
        self.stats.batches += 1
        self.stats.last_write = time.monotonic()

    def _write_sync(self, batch: Batch) -> None:
        started = time.perf_counter()
        with self.pool.connection() as conn:
            write_batch(conn, batch)
        log.debug("batch of %d rows written in %.3f s", len(batch), time.perf_counter() - started)

    # --- timers -----------------------------------------------------------------------------------------

    async def load_tick(self) -> None:
        """Workcenter load, pending work per workshop, and bottleneck transitions (published, then kept)."""
        now = self.clock()
        try:
            transitions = await asyncio.to_thread(self._load_sync, now)
        except Exception:
            log.exception("load computation failed")
            return
        for transition in transitions:
            self._seq += 1
            event = to_event(transition, now, self._seq, _horizon_hours(self.settings.bottleneck_horizon))
            fut = await self.bottleneck_topic.send(
                key=event.key.encode(), value=event.to_json(), headers={"type": event.type.encode()}
            )
            await fut  # acknowledged by Kafka before the row says "announced"
            await asyncio.to_thread(self._record_sync, event)
            self.stats.bottleneck_events += 1
            log.info("%s %s: %s", event.type, event.payload.workcenter_id, getattr(event.payload, "cause", ""))
        self.stats.load_ticks += 1

    def _load_sync(self, now: datetime) -> list[Detected | Cleared]:
        with self.pool.connection() as conn:
            if not self._restored:
                self.detector.restore(read_active(conn))
                self._restored = True
            queues = read_queues(conn, self.settings.min_samples)
            down = read_machines_down(conn)
            loads = compute_loads(self.plant, queues, down, now, self.settings.horizon_days)
            with conn.transaction():
                write_loads(conn, loads, now, self.settings.bottleneck_horizon)
                write_workshop_pending(conn, self.plant, loads, now)
        faulted = frozenset(m for m, state in down.items() if state == "FAULT")
        return self.detector.step(loads, faulted, {wc: q.orders for wc, q in queues.items()}, now)

    def _record_sync(self, event: Any) -> None:
        with self.pool.connection() as conn, conn.transaction():
            record(conn, event)

    async def pool_tick(self) -> None:
        """The order pool of this minute and on-time delivery per week and month."""
        now = self.clock()
        try:
            await asyncio.to_thread(self._pool_sync, now)
        except Exception:
            log.exception("order pool computation failed")

    def _pool_sync(self, now: datetime) -> None:
        with self.pool.connection() as conn, conn.transaction():
            write_order_pool(conn, now)
            write_on_time_delivery(conn, self.plant.timezone)


def _horizon_hours(name: str) -> float:
    """'3d' -> 72; 'shift' and others -> 0 (the payload's horizon is informative)."""
    return float(name[:-1]) * 24.0 if name.endswith("d") and name[:-1].replace(".", "", 1).isdigit() else 0.0


def make_processor(
    settings: OrdersStreamSettings,
    kafka: KafkaSettings,
    plant: Plant,
    pool: ConnectionPool[Connection],
    clock: Clock = utcnow,
) -> OrdersProcessor:
    return OrdersProcessor(settings, kafka, plant, pool, clock)
