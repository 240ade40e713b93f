"""Order processor throughput: events/s from Kafka to committed rows, against a raw consume baseline.

    .venv/bin/python benchmarks/streams_orders.py [--work-orders 1000] [--reports 100]

Runs against the Kafka and PostgreSQL of the settings (SHOPFLOOR_KAFKA_*, SHOPFLOOR_PG_*), under a
topic prefix and a database schema of its own (the schema is dropped at the end). It produces the
load first (releases on shopfloor.orders; a start and N reports per work order on shopfloor.mes),
then measures, in the same run:

* baseline: an aiokafka consumer reading the same topics without doing anything (the ceiling);
* parse: pydantic ``parse_event`` over the same bytes, in process;
* processor: the faust worker (``python -m streams.orders.cli worker``) from its first committed
  batch to the last row (events of the committed batches / seconds), and the ratio to the baseline;
* bottleneck latency: a heading press put in FAULT in ``machine_current_state`` until
  ``bottleneck.detected`` is on Kafka (the goal is under 5 s).

The functions are importable (``benchmarks/streams.py`` composes them): :func:`produce_load`,
:func:`baseline_consume`, :func:`parse_rate`, :func:`processor_rate`, :func:`bottleneck_latency`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from psycopg import sql

from shopfloor.db.migrate import migrate
from shopfloor.db.pool import connect
from shopfloor.events import (
    EventBase,
    OperationSpec,
    WoReleasedEvent,
    WoReleasedPayload,
    WoReportedEvent,
    WoReportedPayload,
    WoStartedEvent,
    WoStartedPayload,
    parse_event,
)
from shopfloor.kafka.admin import ensure_topics
from shopfloor.kafka.producer import flush, make_producer, produce_event
from shopfloor.settings import PROJECT_ROOT, KafkaSettings, PostgresSettings
from shopfloor.topics import KafkaTopic, topic_name


@dataclass(frozen=True, slots=True)
class Load:
    events: int
    work_orders: int
    mes_events: int
    payloads: list[bytes]


def make_events(work_orders: int, reports: int) -> list[EventBase]:
    now = datetime.now(UTC)
    events: list[EventBase] = []
    ops = [OperationSpec(seq=1, name="head", workcenter_id="WC-HEAD", eligible_machines=["H2"], unit_min=0.01)]
    for w in range(work_orders):
        wo = f"WO-{w}"
        release = WoReleasedPayload(
            work_order_id=wo,
            order_id=f"SO-{w}",
            product_id="P-1",
            quantity=10 * reports + 1,
            due_date=now + timedelta(days=5),
            operations=ops,
        )
        events.append(WoReleasedEvent(event_id=uuid.uuid4(), source="bench", seq=w, ts=now, payload=release))
        events.append(
            WoStartedEvent(
                event_id=uuid.uuid4(), source="bench", seq=w, ts=now, payload=WoStartedPayload(work_order_id=wo)
            )
        )
    for r in range(reports):
        for w in range(work_orders):
            payload = WoReportedPayload(work_order_id=f"WO-{w}", good=10)
            ts = now + timedelta(seconds=r + 1)
            events.append(WoReportedEvent(event_id=uuid.uuid4(), source="bench", seq=r, ts=ts, payload=payload))
    return events


def produce_load(kafka: KafkaSettings, work_orders: int, reports: int) -> Load:
    ensure_topics(kafka)
    events = make_events(work_orders, reports)
    producer = make_producer(kafka)
    for event in events:
        produce_event(producer, event, kafka)
    flush(producer, 120.0)
    mes = sum(1 for e in events if e.type != "wo.released")
    return Load(len(events), work_orders, mes, [e.to_json() for e in events])


def baseline_consume(kafka: KafkaSettings, expected: int, timeout_s: float = 120.0) -> float:
    """Events/s of a bare aiokafka consumer over the load (aiokafka is what faust consumes with)."""
    from aiokafka import AIOKafkaConsumer

    async def run() -> float:
        topics = [topic_name(t, kafka.topic_prefix) for t in (KafkaTopic.ORDERS, KafkaTopic.MES)]
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=kafka.bootstrap_servers,
            group_id=f"bench-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            count, started = 0, 0.0
            deadline = time.monotonic() + timeout_s
            while count < expected and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=500, max_records=5000)
                if batches and not started:
                    started = time.perf_counter()
                count += sum(len(b) for b in batches.values())
            return count / (time.perf_counter() - started) if started else 0.0
        finally:
            await consumer.stop()

    return asyncio.run(run())


def parse_rate(payloads: list[bytes]) -> float:
    started = time.perf_counter()
    for raw in payloads:
        parse_event(raw)
    return len(payloads) / (time.perf_counter() - started)


def processor_rate(kafka: KafkaSettings, pg: PostgresSettings, load: Load, timeout_s: float = 600.0) -> float:
    """Events/s of the faust worker: from its first committed batch until every event's row is committed."""
    with tempfile.TemporaryDirectory(prefix="bench-orders-") as tmp:
        env = {
            **os.environ,
            "SHOPFLOOR_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "SHOPFLOOR_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
            "SHOPFLOOR_PG_DB_SCHEMA": pg.db_schema,
            "SHOPFLOOR_STREAMS_ORDERS_DATA_DIR": tmp,
            "SHOPFLOOR_STREAMS_ORDERS_APP_ID": f"bench-{uuid.uuid4().hex[:8]}",
        }
        with Path(tmp, "worker.log").open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "streams.orders.cli", "worker"],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=log,
            )
            return _wait_done(worker, pg, load, timeout_s)


_DONE_SQL = "SELECT (SELECT count(*) FROM work_order), (SELECT COALESCE(sum(events), 0) FROM operation_progress)"


def _wait_done(worker: subprocess.Popen[bytes], pg: PostgresSettings, load: Load, timeout_s: float) -> float:
    try:
        with connect(pg, autocommit=True) as conn:
            deadline = time.monotonic() + timeout_s
            first: float | None = None
            while time.monotonic() < deadline:
                done = conn.execute(_DONE_SQL).fetchone()
                assert done is not None
                if first is None and (done[0] or done[1]):
                    first = time.perf_counter()
                if done[0] >= load.work_orders and done[1] >= load.mes_events:
                    assert first is not None
                    return load.events / (time.perf_counter() - first)
                time.sleep(0.05)
        raise TimeoutError("the processor did not finish the load in time")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()


def bottleneck_latency(kafka: KafkaSettings, pg: PostgresSettings, repeats: int = 5) -> list[float]:
    """Seconds from a heading press's FAULT in ``machine_current_state`` to ``bottleneck.detected`` on Kafka.

    Each round: a press fails (work is queued on heading from the load), the detection is read back, the
    press is repaired and the ``cleared`` awaited before the next round.
    """
    from confluent_kafka import Consumer

    with tempfile.TemporaryDirectory(prefix="bench-bottleneck-") as tmp:
        env = {
            **os.environ,
            "SHOPFLOOR_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "SHOPFLOOR_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
            "SHOPFLOOR_PG_DB_SCHEMA": pg.db_schema,
            "SHOPFLOOR_STREAMS_ORDERS_DATA_DIR": tmp,
            "SHOPFLOOR_STREAMS_ORDERS_APP_ID": f"bench-{uuid.uuid4().hex[:8]}",
            "SHOPFLOOR_STREAMS_ORDERS_CLEAR_HOLD_S": "0",
        }
        consumer = Consumer(
            {
                "bootstrap.servers": kafka.bootstrap_servers,
                "group.id": f"bench-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "latest",
            }
        )
        consumer.subscribe([topic_name(KafkaTopic.BOTTLENECKS, kafka.topic_prefix)])
        with Path(tmp, "worker.log").open("wb") as log, connect(pg, autocommit=True) as conn:
            worker = subprocess.Popen(
                [sys.executable, "-m", "streams.orders.cli", "worker"],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=log,
            )
            try:
                consumer.consume(10, timeout=10.0)  # joined before the first fault
                figures = []
                for _ in range(repeats):
                    for state, want in (("FAULT", "bottleneck.detected"), ("RUNNING", "bottleneck.cleared")):
                        started = time.perf_counter()
                        conn.execute(
                            "INSERT INTO machine_current_state (machine_id, state, since, event_id)"
                            " VALUES ('H2', %s, now(), gen_random_uuid()) ON CONFLICT (machine_id)"
                            " DO UPDATE SET state = EXCLUDED.state, since = EXCLUDED.since",
                            (state,),
                        )
                        if _wait_type(consumer, want, 60.0) and state == "FAULT":
                            figures.append(time.perf_counter() - started)
                return figures
            finally:
                consumer.close()
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()


def _wait_type(consumer: object, want: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for message in consumer.consume(10, timeout=0.1):  # type: ignore[attr-defined]
            if message.error() is None and parse_event(message.value()).type == want:
                return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work-orders", type=int, default=1000)
    parser.add_argument("--reports", type=int, default=100, help="reports per work order")
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    kafka = KafkaSettings().model_copy(update={"topic_prefix": f"bench{tag}."})
    pg = PostgresSettings().model_copy(update={"db_schema": f"bench_{tag}"})
    migrate(pg)
    try:
        load = produce_load(kafka, args.work_orders, args.reports)
        print(f"load: {load.events} events ({load.work_orders} releases, {load.mes_events} scans)")
        base = baseline_consume(kafka, load.events)
        print(f"baseline aiokafka consume: {base:,.0f} events/s")
        print(f"pydantic parse:            {parse_rate(load.payloads):,.0f} events/s")
        rate = processor_rate(kafka, pg, load)
        print(f"order processor:           {rate:,.0f} events/s Kafka -> committed rows ({rate / base:.2f} x baseline)")
        lat = sorted(bottleneck_latency(kafka, pg))
        if lat:
            print(
                f"FAULT -> bottleneck.detected: median {lat[len(lat) // 2]:.2f} s, "
                f"max {lat[-1]:.2f} s ({len(lat)} runs)"
            )
    finally:
        with connect(pg, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(pg.db_schema)))


if __name__ == "__main__":
    main()
