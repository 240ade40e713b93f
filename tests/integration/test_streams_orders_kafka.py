"""The order processor as its operators run it (the supervised CLI) on the real Kafka and PostgreSQL.

Events are produced to Kafka as the order hub and the bridge would; the test reads the tables and
the bottleneck topic. The worker is SIGKILLed mid-stream and, in the second test, Kafka itself is
SIGKILLed and restarted under it: the totals must still be exact (nothing lost, nothing doubled).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer

from shopfloor.db.pool import connect
from shopfloor.deadletter import DeadLetter
from shopfloor.events import (
    BottleneckClearedEvent,
    BottleneckDetectedEvent,
    EventBase,
    OperationSpec,
    OrderCancelledEvent,
    OrderCancelledPayload,
    OrderCreatedEvent,
    OrderLine,
    OrderPayload,
    OrderStatus,
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
from shopfloor.stack.kafka import KafkaServer
from shopfloor.stack.process import kill
from shopfloor.topics import KafkaTopic, topic_name
from tests.fixtures.stack import unique_name

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def event(cls: type[EventBase], payload: Any, ts: datetime | None = None) -> EventBase:
    return cls(event_id=uuid.uuid4(), source="test", seq=1, ts=ts or datetime.now(UTC), payload=payload)


def released(i: int, qty: int) -> EventBase:
    return event(
        WoReleasedEvent,
        WoReleasedPayload(
            work_order_id=f"WO-{i}",
            order_id=f"SO-{i}",
            product_id="P-1",
            quantity=qty,
            due_date=NOW + timedelta(days=4),
            operations=[
                OperationSpec(seq=1, name="head", workcenter_id="WC-HEAD", eligible_machines=["H2"], unit_min=0.5)
            ],
        ),
    )


def order(i: int) -> EventBase:
    lines = [OrderLine(line_no=1, product_id="P-1", quantity=12_000)]
    payload = OrderPayload(
        order_id=f"SO-{i}",
        version=1,
        customer_id="C-1",
        lines=lines,
        due_date=NOW + timedelta(days=4),
        status=OrderStatus.APPROVED,
    )
    return event(OrderCreatedEvent, payload)


def report(wo: str, good: int) -> EventBase:
    return event(WoReportedEvent, WoReportedPayload(work_order_id=wo, good=good, machine_id="H2"))


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def processor(
    kafka: KafkaSettings, pg: PostgresSettings, tmp: Path, **settings: str
) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "SHOPFLOOR_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "SHOPFLOOR_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "SHOPFLOOR_KAFKA_PARTITIONS": str(kafka.partitions),
        "SHOPFLOOR_PG_HOST": pg.host,
        "SHOPFLOOR_PG_PORT": str(pg.port),
        "SHOPFLOOR_PG_DB_SCHEMA": pg.db_schema,
        "SHOPFLOOR_STREAMS_ORDERS_DATA_DIR": str(tmp / "data"),
        "SHOPFLOOR_STREAMS_ORDERS_APP_ID": unique_name("orders"),
        "SHOPFLOOR_STREAMS_ORDERS_CLEAR_HOLD_S": "0",
        "SHOPFLOOR_STREAMS_ORDERS_RESTART_BACKOFF_S": "0.5",
        **{f"SHOPFLOOR_STREAMS_ORDERS_{k.upper()}": v for k, v in settings.items()},
    }
    log = (tmp / "processor.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams.orders.cli", "run"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                for child in children(proc.pid):
                    os.kill(child, signal.SIGKILL)
                proc.kill()
                proc.wait()
        log.close()


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def produce(kafka: KafkaSettings, events: list[EventBase]) -> None:
    producer = make_producer(kafka)
    for e in events:
        produce_event(producer, e, kafka)
    flush(producer)


def bottleneck_events(kafka: KafkaSettings) -> Callable[[], list[Any]]:
    consumer = Consumer(
        {"bootstrap.servers": kafka.bootstrap_servers, "group.id": unique_name("g"), "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic_name(KafkaTopic.BOTTLENECKS, kafka.topic_prefix)])
    seen: list[Any] = []

    def poll() -> list[Any]:
        for message in consumer.consume(100, timeout=0.5):
            if message.error() is None:
                seen.append(parse_event(message.value() or b""))
        return seen

    return poll


def read_all(kafka: KafkaSettings, topic: KafkaTopic) -> list[bytes]:
    consumer = Consumer(
        {"bootstrap.servers": kafka.bootstrap_servers, "group.id": unique_name("g"), "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic_name(topic, kafka.topic_prefix)])
    got: list[bytes] = []
    try:
        for _ in range(10):
            got += [m.value() or b"" for m in consumer.consume(100, timeout=1.0) if m.error() is None]
    finally:
        consumer.close()
    return got


def good_of(pg: PostgresSettings, wo: str) -> int | None:
    with connect(pg) as conn:
        row = conn.execute("SELECT good FROM work_order WHERE work_order_id = %s", (wo,)).fetchone()
    return None if row is None else int(row[0])


def test_state_bottleneck_and_a_sigkilled_worker(
    kafka_settings: KafkaSettings, pg_settings: PostgresSettings, tmp_path: Path
) -> None:
    kafka = kafka_settings
    ensure_topics(kafka)
    bottlenecks = bottleneck_events(kafka)
    with processor(kafka, pg_settings, tmp_path, store="rocksdb://") as supervisor:
        # Six work orders of 100 heading hours each: 600 h against 8 presses x 72 h in three days.
        start = event(WoStartedEvent, WoStartedPayload(work_order_id="WO-0", machine_id="H2"))
        first = [report("WO-0", 10) for _ in range(20)]
        produce(kafka, [*(order(i) for i in range(6)), *(released(i, 12_000) for i in range(6)), start, *first])
        produce(kafka, first[:5])  # redelivered by an upstream retry: counted once
        producer = make_producer(kafka)
        producer.produce(topic_name(KafkaTopic.MES, kafka.topic_prefix), key=b"WO-0", value=b'{"type": "wo.started"')
        flush(producer)
        wait_for(lambda: good_of(pg_settings, "WO-0") == 200, "the first reports")
        detected = wait_for(
            lambda: [e for e in bottlenecks() if isinstance(e, BottleneckDetectedEvent)], "bottleneck.detected"
        )[0]
        assert detected.payload.workcenter_id == "WC-HEAD"
        assert detected.payload.load_hours > detected.payload.capacity_hours
        assert set(detected.payload.orders_affected) == {f"SO-{i}" for i in range(6)}
        assert detected.payload.full_for_hours > 72

        [worker] = wait_for(lambda: children(supervisor.pid), "the worker process")
        os.kill(worker, signal.SIGKILL)
        more = [report("WO-0", 1) for _ in range(50)]
        produce(kafka, [*more, first[0], more[0]])
        wait_for(lambda: (c := children(supervisor.pid)) and c != [worker], "the restarted worker", 30)
        wait_for(lambda: good_of(pg_settings, "WO-0") == 250, "the reports after the restart", 90)

        # Five orders cancelled: 100 h queued, far below the exit level: cleared, once.
        cancels = [
            event(OrderCancelledEvent, OrderCancelledPayload(order_id=f"SO-{i}", version=1)) for i in range(1, 6)
        ]
        produce(kafka, cancels)
        wait_for(lambda: [e for e in bottlenecks() if isinstance(e, BottleneckClearedEvent)], "bottleneck.cleared")
        time.sleep(3)
        kinds = [e.type for e in bottlenecks()]
        assert kinds.count("bottleneck.cleared") == 1
    letters = read_all(kafka, KafkaTopic.DEADLETTER)
    # At least once: the worker SIGKILLed before committing that batch dead-letters it again on redelivery.
    assert {DeadLetter.model_validate_json(v).original for v in letters} == {b'{"type": "wo.started"'}
    assert DeadLetter.model_validate_json(letters[0]).source_topic == topic_name(KafkaTopic.MES, kafka.topic_prefix)
    with connect(pg_settings) as conn:
        assert conn.execute("SELECT active FROM bottleneck WHERE workcenter_id = 'WC-HEAD'").fetchone() == (False,)
        assert conn.execute("SELECT status, good FROM operation WHERE work_order_id = 'WO-0'").fetchone() == (
            "started",
            250,
        )
    assert supervisor.returncode == 0


def test_kafka_sigkilled_and_restarted_under_the_agents(
    pg_settings: PostgresSettings, private_kafka: KafkaServer, tmp_path: Path
) -> None:
    kafka = KafkaSettings(
        bootstrap_servers=f"127.0.0.1:{private_kafka.port}", topic_prefix=unique_name("t") + ".", partitions=3
    )
    ensure_topics(kafka)
    with processor(kafka, pg_settings, tmp_path, store="rocksdb://", stall_s="20") as supervisor:
        produce(kafka, [released(0, 10_000), *(report("WO-0", 1) for _ in range(100))])
        wait_for(lambda: good_of(pg_settings, "WO-0") == 100, "the reports before the outage", 90)
        pid = private_kafka.pid
        assert pid is not None
        kill(pid, marker=str(private_kafka.properties))
        time.sleep(8)
        private_kafka.start(timeout=90)
        produce(kafka, [report("WO-0", 1) for _ in range(100)])
        wait_for(lambda: good_of(pg_settings, "WO-0") == 200, "the reports after Kafka came back", 180)
        time.sleep(3)
        assert good_of(pg_settings, "WO-0") == 200
        assert supervisor.poll() is None
    log = (tmp_path / "processor.log").read_text(errors="replace")
    restarts = log.count("[supervisor] worker exited")
    print(f"worker restarts by the supervisor across the Kafka restart: {restarts}")
