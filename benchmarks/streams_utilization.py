"""Raw sink and utilization flow: events/s Kafka -> committed rows, beside the raw consume and parse rates.

    .venv/bin/python benchmarks/streams_utilization.py [--events 200000] [--machines 40] [--skip-live]

Uses the stack the settings point at (SHOPFLOOR_KAFKA_* / SHOPFLOOR_PG_*, the dev stack by default), under
a unique topic prefix and database schema, both deleted afterwards. Run it on a quiet machine.

- baselines, same run, same messages: a bare confluent-kafka consumer (messages/s), and pydantic
  ``parse_event`` over the same bytes (events/s);
- raw sink: N events already in Kafka, one sink process member; rate = N / (start -> every row committed);
- utilization: the bytewax flow on one worker, KafkaSource batches of 1,000, over the same N events until
  EOF at the end offsets, minutes upserted; rate = N / run time (goal >= 50,000 events/s);
- current machine state latency at a paced 1,000 msg/s: publish (the event's ts) -> the row visible
  to a reader polling every 5 ms; p50/p99 (goal p99 < 1 s);
- bucket finality: the live flow on a paced stream; for each minute, the time from its end + lateness to
  its row visible (goal < 2 s).

Every throughput is also given per CPU-second of this process (all its threads; PostgreSQL's own CPU
is not in it): on a machine shared with other work the wall-clock rates say more about the neighbours.
The utilization flow is also run from memory (TestingSource, same batches) to show the Kafka source's
share. The measuring functions take settings and return figures: ``benchmarks/streams.py`` composes them.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bytewax.testing import TestingSource, run_main
from confluent_kafka import Consumer, KafkaError, Producer
from psycopg import sql
from rich.console import Console
from rich.table import Table

from shopfloor.db.migrate import migrate
from shopfloor.db.pool import connect
from shopfloor.events import (
    EventBase,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
    parse_event,
    utcnow,
)
from shopfloor.kafka.admin import delete_topics, ensure_topics
from shopfloor.kafka.producer import flush, make_producer
from shopfloor.settings import KafkaSettings, PostgresSettings
from shopfloor.topics import KafkaTopic, topic_name
from streams.raw.sink import RawSink
from streams.settings import StreamsSettings
from streams.utilization.flow import build_flow
from streams.utilization.minutes import Interval
from streams.utilization.sink import UtilizationSink
from streams.utilization.source import telemetry_source

STATES = (MachineState.RUNNING, MachineState.RUNNING, MachineState.IDLE, MachineState.SETUP, MachineState.FAULT)


class AlwaysPlanned:
    """Every minute planned, ideal cycle 0.5 s: the calendar lookup is not what is measured."""

    def planned(self, machine_id: str, start: datetime, end: datetime) -> list[Interval]:
        return [(start, end)]

    def ideal_cycle(self, machine_id: str) -> float | None:
        return 0.5


@dataclass(frozen=True)
class Rate:
    """Events over wall time, and over this process's CPU time (all its threads): the second stays
    meaningful on a machine shared with other work. The raw sink's CPU excludes PostgreSQL's."""

    events: int
    wall_s: float
    cpu_s: float

    @property
    def per_s(self) -> float:
        return self.events / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def per_cpu_s(self) -> float:
        return self.events / self.cpu_s if self.cpu_s > 0 else 0.0


def make_events(count: int, machines: int, start: datetime, spacing: timedelta) -> list[EventBase]:
    """A telemetry mix: per machine, a state change every 5th event, cumulative counters otherwise."""
    events: list[EventBase] = []
    goods = [0] * machines
    for i in range(count):
        m = i % machines
        ts = start + i * spacing
        if (i // machines) % 5 == 0:
            state = STATES[(i // machines // 5) % len(STATES)]
            events.append(
                MachineStateEvent(
                    event_id=uuid.uuid4(),
                    source="bench",
                    seq=i,
                    ts=ts,
                    payload=MachineStatePayload(machine_id=f"M{m}", state=state),
                )
            )
        else:
            goods[m] += 7
            events.append(
                MachineCounterEvent(
                    event_id=uuid.uuid4(),
                    source="bench",
                    seq=i,
                    ts=ts,
                    payload=MachineCounterPayload(machine_id=f"M{m}", good=goods[m], scrap=goods[m] // 100),
                )
            )
    return events


def publish(kafka: KafkaSettings, events: list[EventBase]) -> None:
    producer = make_producer(kafka)
    topic = topic_name(KafkaTopic.TELEMETRY, kafka.topic_prefix)
    for event in events:
        while True:
            try:
                producer.produce(topic, value=event.to_json(), key=event.key.encode())
                break
            except BufferError:
                producer.poll(0.05)
    flush(producer, 120)


def consume_rate(kafka: KafkaSettings, expected: int) -> Rate:
    """Messages/s of a bare confluent-kafka consumer reading the telemetry topic from the beginning."""
    consumer = Consumer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": f"bench-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic_name(KafkaTopic.TELEMETRY, kafka.topic_prefix)])
    seen = 0
    began: float | None = None
    cpu = 0.0
    deadline = time.monotonic() + 120
    while seen < expected and time.monotonic() < deadline:
        for message in consumer.consume(1000, 0.5):
            if message.error() is None:
                if began is None:
                    began, cpu = time.perf_counter(), time.process_time()
                seen += 1
            elif message.error().code() != KafkaError._PARTITION_EOF:
                raise RuntimeError(message.error().str())
    rate = Rate(seen, time.perf_counter() - (began or time.perf_counter()), time.process_time() - cpu)
    consumer.close()
    return rate


def parse_rate(payloads: list[bytes]) -> Rate:
    began, cpu = time.perf_counter(), time.process_time()
    for payload in payloads:
        parse_event(payload)
    return Rate(len(payloads), time.perf_counter() - began, time.process_time() - cpu)


def _count(pg: PostgresSettings, table: str) -> int:
    with connect(pg) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
        return int(row[0]) if row else 0


def raw_sink_rate(kafka: KafkaSettings, pg: PostgresSettings, expected: int) -> Rate:
    """Events/s from Kafka to committed raw rows, one raw sink member, N events waiting in the topic."""
    settings = StreamsSettings(raw_group_id=f"bench-raw-{uuid.uuid4().hex[:8]}")
    stop = threading.Event()
    conn = connect(pg)
    sink = RawSink(conn, kafka, settings)
    processed = [0]

    def member() -> None:
        processed[0] = sink.run(stop)

    began, cpu = time.perf_counter(), time.process_time()
    thread = threading.Thread(target=member)
    thread.start()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if _count(pg, "machine_state") + _count(pg, "machine_counter") >= expected:
            break
        time.sleep(0.05)
    rate = Rate(expected, time.perf_counter() - began, time.process_time() - cpu)
    stop.set()
    thread.join(60)
    conn.close()
    return rate


def utilization_rate(kafka: KafkaSettings, pg: PostgresSettings, expected: int, batch_size: int = 1000) -> Rate:
    """Events/s of the utilization flow on one worker: Kafka (until EOF) -> minute rows committed."""
    source = telemetry_source(kafka, batch_size, tail=False)
    flow = build_flow(source, UtilizationSink(pg), utcnow, calendar=AlwaysPlanned(), lateness=timedelta(seconds=10))
    began, cpu = time.perf_counter(), time.process_time()
    run_main(flow)
    return Rate(expected, time.perf_counter() - began, time.process_time() - cpu)


def utilization_memory_rate(payloads: list[bytes], pg: PostgresSettings, batch_size: int = 1000) -> Rate:
    """The same flow and sink fed from memory in batches: what the Kafka source costs, by difference."""
    flow = build_flow(
        TestingSource(payloads, batch_size=batch_size), UtilizationSink(pg), utcnow, calendar=AlwaysPlanned()
    )
    began, cpu = time.perf_counter(), time.process_time()
    run_main(flow)
    return Rate(len(payloads), time.perf_counter() - began, time.process_time() - cpu)


@dataclass(frozen=True)
class Latency:
    p50_s: float
    p99_s: float
    samples: int


def current_state_latency(
    kafka: KafkaSettings, pg: PostgresSettings, rate: float = 1000.0, seconds: float = 15.0, machines: int = 40
) -> Latency:
    """Publish (event ts) -> machine_current_state row visible, at a paced rate of state events."""
    settings = StreamsSettings(raw_group_id=f"bench-lat-{uuid.uuid4().hex[:8]}")
    stop = threading.Event()
    sink_conn = connect(pg)
    sink = RawSink(sink_conn, kafka, settings)
    sink_thread = threading.Thread(target=sink.run, args=(stop,))
    sink_thread.start()
    seen: dict[tuple[str, datetime], float] = {}

    def watch() -> None:
        with connect(pg, autocommit=True) as conn:
            while not stop.is_set():
                now = time.time()
                for machine, ts in conn.execute(
                    "SELECT machine_id, last_event_ts FROM machine_current_state WHERE machine_id LIKE 'L%'"
                ):
                    seen.setdefault((machine, ts), now)
                time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    time.sleep(3)  # the group's first rebalance is not what is measured
    producer: Producer = make_producer(kafka, **{"linger.ms": 1})
    topic = topic_name(KafkaTopic.TELEMETRY, kafka.topic_prefix)
    sent = 0
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        due = int((time.monotonic() - began) * rate)
        while sent < due:
            m = sent % machines
            event = MachineStateEvent(
                event_id=uuid.uuid4(),
                source="bench",
                seq=sent,
                ts=datetime.now(UTC),
                payload=MachineStatePayload(machine_id=f"L{m}", state=STATES[(sent // machines) % len(STATES)]),
            )
            producer.produce(topic, value=event.to_json(), key=event.key.encode())
            sent += 1
        producer.poll(0)
        time.sleep(0.001)
    flush(producer)
    time.sleep(2)
    stop.set()
    watcher.join(10)
    sink_thread.join(30)
    sink_conn.close()
    delays = sorted(seen_at - ts.timestamp() for (_m, ts), seen_at in seen.items())
    if not delays:
        return Latency(float("nan"), float("nan"), 0)
    return Latency(statistics.median(delays), delays[min(len(delays) - 1, int(len(delays) * 0.99))], len(delays))


def _live_flow(kafka: KafkaSettings, pg: PostgresSettings, lateness_s: float) -> None:
    source = telemetry_source(kafka, 1000, tail=True)
    flow = build_flow(
        source, UtilizationSink(pg), utcnow, calendar=AlwaysPlanned(), lateness=timedelta(seconds=lateness_s)
    )
    run_main(flow)


def bucket_finality(
    kafka: KafkaSettings, pg: PostgresSettings, minutes: int = 2, lateness_s: float = 10.0, machines: int = 10
) -> list[float]:
    """Seconds from each minute's end + lateness to its row visible, with the live flow on a paced stream."""
    # The live flow has no stop: it runs in a process of its own, terminated at the end.
    flow_process = mp.get_context("spawn").Process(target=_live_flow, args=(kafka, pg, lateness_s), daemon=True)
    flow_process.start()
    producer = make_producer(kafka, **{"linger.ms": 1})
    topic = topic_name(KafkaTopic.TELEMETRY, kafka.topic_prefix)
    start = datetime.now(UTC)
    first = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    targets = [first + timedelta(minutes=i) for i in range(minutes)]
    visible: dict[datetime, float] = {}
    end = targets[-1] + timedelta(minutes=1, seconds=lateness_s + 15)
    seq = 0
    with connect(pg, autocommit=True) as conn:
        while datetime.now(UTC) < end and len(visible) < len(targets):
            for m in range(machines):
                event = MachineCounterEvent(
                    event_id=uuid.uuid4(),
                    source="bench",
                    seq=seq,
                    ts=datetime.now(UTC),
                    payload=MachineCounterPayload(machine_id=f"F{m}", good=seq, scrap=0),
                )
                producer.produce(topic, value=event.to_json(), key=event.key.encode())
                seq += 1
            producer.poll(0)
            for (bucket,) in conn.execute(
                "SELECT DISTINCT bucket FROM machine_utilization_1m WHERE machine_id = 'F0' AND bucket = ANY(%s)",
                (targets,),
            ):
                visible.setdefault(bucket, time.time())
            time.sleep(0.05)
    flush(producer)
    return [visible[b] - (b + timedelta(minutes=1, seconds=lateness_s)).timestamp() for b in targets if b in visible]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--machines", type=int, default=40)
    parser.add_argument("--skip-live", action="store_true", help="Skip the latency and finality runs (~3 min).")
    args = parser.parse_args()
    console = Console()
    suffix = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(topic_prefix=f"bench{suffix}.", partitions=6)
    pg = PostgresSettings(db_schema=f"bench_{suffix}")
    ensure_topics(kafka)
    migrate(pg)
    try:
        # One simulated day's pace: 40 machines, 2.16 s between a machine's events.
        events = make_events(args.events, args.machines, datetime(2026, 3, 2, tzinfo=UTC), timedelta(milliseconds=54))
        payloads = [e.to_json() for e in events]
        publish(kafka, events)
        table = Table(title=f"streams: {args.events} telemetry events, {args.machines} machines")
        table.add_column("what")
        table.add_column("events/s", justify="right")
        table.add_column("vs raw consume", justify="right")
        table.add_column("events per CPU-s", justify="right")
        consumed = consume_rate(kafka, args.events)
        parsed = parse_rate(payloads)
        raw = raw_sink_rate(kafka, pg, args.events)
        util = utilization_rate(kafka, pg, args.events)
        util_memory = utilization_memory_rate(payloads, pg)
        for name, rate in (
            ("confluent-kafka consume (baseline)", consumed),
            ("pydantic parse_event (baseline)", parsed),
            ("raw sink: Kafka -> committed rows", raw),
            ("utilization flow, 1 worker: Kafka -> minute rows (goal 50,000)", util),
            ("utilization flow, same events from memory (no Kafka)", util_memory),
        ):
            table.add_row(name, f"{rate.per_s:,.0f}", f"{rate.per_s / consumed.per_s:.2f}", f"{rate.per_cpu_s:,.0f}")
        console.print(table)
        if not args.skip_live:
            # Fresh topics: the live runs must not first work through the backlog above.
            live = kafka.model_copy(update={"topic_prefix": f"bench{suffix}live."})
            ensure_topics(live)
            latency = current_state_latency(live, pg)
            console.print(
                f"machine_current_state at 1,000 msg/s: p50 {latency.p50_s * 1000:.0f} ms, "
                f"p99 {latency.p99_s * 1000:.0f} ms over {latency.samples} updates seen (goal p99 < 1,000 ms)"
            )
            finality = bucket_finality(live, pg)
            console.print(
                "minute bucket visible after its end + lateness (10 s): "
                + ", ".join(f"{x:.2f} s" for x in finality)
                + " (goal < 2 s)"
            )
    finally:
        delete_topics(kafka)
        if not args.skip_live:
            delete_topics(kafka.model_copy(update={"topic_prefix": f"bench{suffix}live."}))
        with connect(pg, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(pg.db_schema)))


if __name__ == "__main__":
    main()
