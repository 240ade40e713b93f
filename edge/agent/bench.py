"""Throughput of the outbox and of an EdgeAgent against a broker (``SHOPFLOOR_MQTT_*``).

    python -m edge.agent.bench [--count 50000] [--batch 500] [--confirmed]

Prints rows/s for the bare SQLite outbox (one commit per message and batched, NORMAL and FULL), and
events/s for an agent: enqueue rate and delivered-and-acknowledged rate, for ``publish_many`` in
batches and for one ``publish`` per event; with ``--confirmed`` also for an agent whose rows leave only on
the bridge's delivery confirmation (an in-process bridge into Kafka, ``SHOPFLOOR_KAFKA_*``), beside the
PUBACK-only figure of the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from edge.agent.agent import EdgeAgent
from edge.bridge.bridge import Bridge
from edge.bridge.config import BridgeConfig
from edge.bridge.testing import forget_session
from edge.buffer import MessageClass, OutboxQueue
from edge.buffer.queue import OutboxItem
from edge.plc.gateway import PLC_FSYNC_CLASSES
from shopfloor.events import MachineCounterEvent, MachineCounterPayload, NodeKind
from shopfloor.kafka.admin import delete_topics, ensure_topics
from shopfloor.settings import KafkaSettings, MqttSettings


def bench_queue(tmp: Path, count: int) -> None:
    payload = b"x" * 300
    for sync in ("NORMAL", "FULL"):
        queue = OutboxQueue(tmp / f"queue-{sync}.db", synchronous=sync)
        single = max(1, count // 10)
        start = time.perf_counter()
        for _ in range(single):
            queue.put("a/b/c", payload, MessageClass.TELEMETRY)
        one_by_one = single / (time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(0, count, 500):
            queue.put_many([OutboxItem("a/b/c", payload, MessageClass.TELEMETRY)] * 500)
        batched = count / (time.perf_counter() - start)
        print(f"outbox synchronous={sync}: put {one_by_one:,.0f} rows/s, put_many(500) {batched:,.0f} rows/s")
        queue.close()
    # The PLC gateway: FULL for commits holding state/counters, NORMAL for process values only. A running
    # machine publishes a counter and a process value per poll, so half its commits are fsynced.
    queue = OutboxQueue(tmp / "queue-plc.db", fsync_classes=PLC_FSYNC_CLASSES)
    single = max(1, count // 10)
    start = time.perf_counter()
    for i in range(single):
        queue.put("a/b/c", payload, MessageClass.TELEMETRY if i % 2 else MessageClass.PROCESS)
    mixed = single / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(single):
        queue.put("a/b/c", payload, MessageClass.PROCESS)
    process_only = single / (time.perf_counter() - start)
    print(
        f"outbox PLC gateway (FULL for state/counters): put counter+process alternating {mixed:,.0f} rows/s, "
        f"process values only {process_only:,.0f} rows/s"
    )
    queue.close()


def bench_agent(tmp: Path, count: int, batch: int, confirmed: bool) -> None:
    settings = MqttSettings().model_copy(update={"enterprise": f"bench{uuid.uuid4().hex[:8]}"})
    modes = [("publish_many", count), ("publish", max(1, count // 5))]
    if confirmed:
        modes.append(("publish_many, kept until the bridge confirms", count))
    for mode, n in modes:
        bridge = _bridge(settings) if "confirms" in mode else None
        agent = EdgeAgent(
            "bench",
            NodeKind.SIMULATOR,
            "bench",
            "l1",
            settings,
            tmp / f"agent-{len(mode)}.db",
            confirmed_delivery=bridge is not None,
        )
        agent.start()
        if not agent.wait_connected(10):
            raise SystemExit(f"no MQTT broker at {settings.host}:{settings.port}")
        events = [
            agent.new_event(MachineCounterEvent, MachineCounterPayload(machine_id="M1", good=i, scrap=0))
            for i in range(n)
        ]
        start = time.perf_counter()
        if mode.startswith("publish_many"):
            for i in range(0, n, batch):
                agent.publish_many([(event, "M1") for event in events[i : i + batch]])
        else:
            for event in events:
                agent.publish(event, "M1")
        queued = time.perf_counter()
        drained = agent.flush(300)
        done = time.perf_counter()
        what = "confirmed" if bridge is not None else "acknowledged"
        print(
            f"agent {mode}: {n} events, enqueue {n / (queued - start):,.0f}/s, "
            f"delivered and {what} {n / (done - start):,.0f}/s{'' if drained else ' (NOT drained)'}"
        )
        agent.close()
        if bridge is not None:
            bridge.stop()
            forget_session(settings, bridge.config.client_id)
            delete_topics(bridge_kafka(settings))


def bridge_kafka(settings: MqttSettings) -> KafkaSettings:
    return KafkaSettings().model_copy(update={"topic_prefix": f"{settings.enterprise}.", "partitions": 3})


def _bridge(settings: MqttSettings) -> Bridge:
    """An in-process bridge on the benchmark's enterprise, into topics of its own (deleted afterwards)."""
    kafka = bridge_kafka(settings)
    ensure_topics(kafka)
    bridge = Bridge(BridgeConfig(bridge_id=f"{settings.enterprise}"), settings, kafka)
    bridge.start()
    return bridge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--confirmed", action="store_true", help="also: an agent with delivery confirmations (needs Kafka too)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_queue(Path(tmp), args.count)
        bench_agent(Path(tmp), args.count, args.batch, args.confirmed)


if __name__ == "__main__":
    main()
