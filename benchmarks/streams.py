"""Stream processors and replay, in one run: events/s Kafka -> committed rows, beside their baselines.

    .venv/bin/python -m benchmarks.streams [--events 100000] [--machines 40] [--skip-live]

Run it as a module from the project root: as a script, its folder would come first on ``sys.path`` and this
file's own name would stand in for the ``streams`` package.

Uses the stack the settings point at (SHOPFLOOR_KAFKA_* / SHOPFLOOR_PG_* / SHOPFLOOR_MQTT_*, the dev stack
by default: ``shopfloor stack up``), under a unique topic prefix, database schema and MQTT enterprise,
deleted afterwards. Figures, all measured in this run on the same messages:

- baselines: a bare confluent-kafka consumer (messages/s) and pydantic ``parse_event`` (events/s);
- raw sink and utilization flow (util's ``benchmarks/streams_utilization.py``), the order processor
  (faust's ``benchmarks/streams_orders.py``, when present): events/s from Kafka to committed rows;
- latency from MQTT publish to the ``machine_current_state`` row visible, through Mosquitto, the bridge,
  Kafka and the raw sink, at a paced 1,000 msg/s: p50 / p99;
- replay: rebuild events/s (raw rows + utilization minutes of the range) and re-publish pacing accuracy
  at ×N (how late each send was against ``send_at``, p50 / p99).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from confluent_kafka.cimpl import NewTopic
from paho.mqtt.enums import CallbackAPIVersion
from psycopg import sql
from rich.console import Console
from rich.table import Table

from edge.bridge.bridge import Bridge
from edge.bridge.config import BridgeConfig
from edge.bridge.testing import forget_session
from shopfloor.db.migrate import migrate
from shopfloor.db.pool import connect
from shopfloor.events import EventBase, MachineState, MachineStateEvent, MachineStatePayload
from shopfloor.kafka.admin import delete_topics, ensure_topics, make_admin
from shopfloor.kafka.producer import flush, make_producer
from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT, KafkaSettings, MqttSettings, PostgresSettings
from shopfloor.topics import KafkaTopic, MqttKind, mqtt_topic, topic_name
from streams.raw.sink import RawSink
from streams.replay.ranges import TimeRange, to_millis
from streams.replay.reader import ReplayReader
from streams.replay.rebuild import rebuild
from streams.replay.republish import KafkaTarget, republish
from streams.replay.utilization import UtilizationStage
from streams.settings import StreamsSettings

DEMO = PROJECT_ROOT / "infra" / "plants" / "demo.yaml"


def util_bench() -> Any:
    return importlib.import_module("benchmarks.streams_utilization")


def orders_bench() -> Any | None:
    try:
        return importlib.import_module("benchmarks.streams_orders")
    except ModuleNotFoundError as exc:
        if exc.name in ("benchmarks.streams_orders", "streams.orders"):
            return None
        raise


def mqtt_to_row_latency(
    kafka: KafkaSettings, pg: PostgresSettings, mqtt_settings: MqttSettings, rate: float = 1000.0, seconds: float = 15
) -> tuple[float, float, int]:
    """MQTT publish -> machine_current_state row visible (bridge and raw sink in this process): p50, p99, n."""
    stop = threading.Event()
    bridge = Bridge(BridgeConfig(bridge_id=f"bench-{uuid.uuid4().hex[:8]}"), mqtt_settings, kafka)
    bridge.start()
    sink_conn = connect(pg)
    sink = RawSink(sink_conn, kafka, StreamsSettings(raw_group_id=f"bench-lat-{uuid.uuid4().hex[:8]}"))
    sink_thread = threading.Thread(target=sink.run, args=(stop,))
    sink_thread.start()
    published: dict[tuple[str, datetime], float] = {}
    seen: dict[tuple[str, datetime], float] = {}

    def watch() -> None:
        with connect(pg, autocommit=True) as conn:
            while not stop.is_set():
                now = time.time()
                for machine, ts in conn.execute("SELECT machine_id, last_event_ts FROM machine_current_state"):
                    seen.setdefault((machine, ts.astimezone(UTC)), now)
                time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    if mqtt_settings.username:
        client.username_pw_set(
            mqtt_settings.username, mqtt_settings.password.get_secret_value() if mqtt_settings.password else None
        )
    client.connect(mqtt_settings.host, mqtt_settings.port)
    client.loop_start()
    plant = load_plant(DEMO)
    machines = [(m.id, plant.location(m.id)) for m in plant.all_machines()]
    time.sleep(3)  # the raw sink's first rebalance is not what is measured
    states = (MachineState.RUNNING, MachineState.IDLE, MachineState.SETUP)
    sent = 0
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        due = int((time.monotonic() - began) * rate)
        while sent < due:
            machine, where = machines[sent % len(machines)]
            ts = datetime.now(UTC)
            event = MachineStateEvent(
                event_id=uuid.uuid4(),
                source="bench",
                seq=sent,
                ts=ts,
                payload=MachineStatePayload(machine_id=machine, state=states[(sent // len(machines)) % 3]),
            )
            topic = mqtt_topic(
                mqtt_settings.enterprise, mqtt_settings.site, where.workshop_id, where.line_id, machine, MqttKind.STATE
            )
            client.publish(topic, event.to_json(), qos=1)
            published[(machine, event.ts)] = time.time()
            sent += 1
        time.sleep(0.001)
    time.sleep(3)
    stop.set()
    watcher.join(10)
    sink_thread.join(30)
    client.loop_stop()
    client.disconnect()
    bridge.stop()
    forget_session(mqtt_settings, bridge.config.client_id)
    sink_conn.close()
    delays = sorted(seen[key] - at for key, at in published.items() if key in seen)
    if not delays:
        return float("nan"), float("nan"), 0
    return statistics.median(delays), delays[min(len(delays) - 1, int(len(delays) * 0.99))], len(delays)


def rebuild_rate(kafka: KafkaSettings, pg: PostgresSettings, recovery: Path) -> tuple[int, float]:
    """Rebuild of everything in the telemetry topic (raw rows already there, minutes recomputed): events/s."""
    stage = UtilizationStage(pg, load_plant(DEMO), recovery)
    with ReplayReader(kafka) as reader, connect(pg) as conn:
        telemetry = topic_name(KafkaTopic.TELEMETRY, kafka.topic_prefix)
        plan = reader.plan(telemetry, TimeRange(datetime(2000, 1, 1, tzinfo=UTC)))
        began = time.perf_counter()
        summary = rebuild(reader, [plan], conn, [stage])
        elapsed = time.perf_counter() - began
    return summary.records, summary.records / elapsed


def republish_accuracy(kafka: KafkaSettings, events: int, speed: float) -> tuple[float, float, float]:
    """Re-publish the first ``events`` records at ×speed into a copy topic: (p50, p99) lateness in s, wall s."""
    copy = f"{kafka.topic_prefix}replay-copy"
    admin = make_admin(kafka)
    new = NewTopic(copy, num_partitions=kafka.partitions, replication_factor=1)
    for future in admin.create_topics([new]).values():
        future.result(timeout=60)
    try:
        with ReplayReader(kafka) as reader:
            telemetry = topic_name(KafkaTopic.TELEMETRY, kafka.topic_prefix)
            plan = reader.plan(telemetry, TimeRange(datetime(2000, 1, 1, tzinfo=UTC)))
            streams = reader.read_partitions(plan)
            limited = {p: _take(it, events // max(1, len(streams))) for p, it in streams.items()}
            summary = republish(limited, KafkaTarget(kafka, copy), speed)
    finally:
        for future in admin.delete_topics([copy]).values():
            future.result(timeout=60)
    return summary.percentile(0.5), summary.percentile(0.99), summary.wall_s


def _take(it: Any, n: int) -> Any:
    for i, item in enumerate(it):
        if i >= n:
            return
        yield item


def rate_text(rate: Any) -> str:
    """util's ``Rate`` (events over wall and over CPU seconds) or a plain events/s figure."""
    if isinstance(rate, int | float):
        return f"{rate:,.0f} /s"
    return f"{rate.per_s:,.0f} /s ({rate.per_cpu_s:,.0f} per CPU-s)"


def publish_stamped(kafka: KafkaSettings, events: list[EventBase]) -> None:
    """Produce keyed by machine with record timestamp = event time, as a live day's records would be."""
    producer = make_producer(kafka)
    topic = topic_name(KafkaTopic.TELEMETRY, kafka.topic_prefix)
    for event in events:
        while True:
            try:
                producer.produce(topic, value=event.to_json(), key=event.key.encode(), timestamp=to_millis(event.ts))
                break
            except BufferError:
                producer.poll(0.05)
    flush(producer, 120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--machines", type=int, default=40)
    parser.add_argument("--skip-live", action="store_true", help="Skip the MQTT latency run (~25 s).")
    args = parser.parse_args()
    console = Console()
    util = util_bench()
    suffix = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(topic_prefix=f"bench{suffix}.", partitions=6)
    pg = PostgresSettings(db_schema=f"bench_{suffix}")
    mqtt_settings = MqttSettings(enterprise=f"bench{suffix}")
    ensure_topics(kafka)
    migrate(pg)
    figures: list[tuple[str, str]] = []
    try:
        # Events stamped now, 40 machines apart by 54 ms: record timestamps in order, like a live day.
        start = datetime.now(UTC) - timedelta(hours=2)
        events = util.make_events(args.events, args.machines, start, timedelta(milliseconds=54))
        payloads = [e.to_json() for e in events]
        publish_stamped(kafka, events)
        figures.append(("confluent-kafka consume (baseline)", rate_text(util.consume_rate(kafka, len(events)))))
        figures.append(("pydantic parse_event (baseline)", rate_text(util.parse_rate(payloads))))
        figures.append(("raw sink, Kafka -> committed rows", rate_text(util.raw_sink_rate(kafka, pg, len(events)))))
        figures.append(("utilization, 1 worker -> minutes", rate_text(util.utilization_rate(kafka, pg, len(events)))))
        orders = orders_bench()
        if orders is None:
            figures.append(("order processor", "not measured: benchmarks/streams_orders.py not in this tree"))
        else:
            # Its own topics: releases and scans of 1,000 work orders (faust's benchmark load).
            orders_kafka = kafka.model_copy(update={"topic_prefix": f"bench{suffix}o."})
            try:
                load = orders.produce_load(orders_kafka, 1000, 50)
                rate = orders.processor_rate(orders_kafka, pg, load)
            finally:
                delete_topics(orders_kafka)
            figures.append(("order processor -> committed rows", f"{rate_text(rate)} over {load.events:,} events"))
        if not args.skip_live:
            p50, p99, n = mqtt_to_row_latency(kafka, pg, mqtt_settings)
            latency = f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (n={n})"
            figures.append(("MQTT publish -> current state row, 1k msg/s", latency))
        records, rate = rebuild_rate(kafka, pg, Path(f"/tmp/bench-rebuild-{suffix}"))
        # The topic by then also holds the latency run's state events.
        figures.append(("replay rebuild (raw + minutes), whole topic", f"{rate:,.0f} events/s over {records:,}"))
        # 5,000 records 54 ms apart in record time: 270 s recorded, re-sent in 2.7 s at x100, 0.27 s at x1000.
        for speed in (100.0, 1000.0):
            p50, p99, wall = republish_accuracy(kafka, 5000, speed)
            pacing = f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms (sent in {wall:.1f} s)"
            figures.append((f"re-publish x{speed:g}, late against send_at", pacing))
    finally:
        delete_topics(kafka)
        with connect(pg, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(pg.db_schema)))
    table = Table("what", "figure")
    for name, value in figures:
        table.add_row(name, value)
    console.print(table)


if __name__ == "__main__":
    main()
