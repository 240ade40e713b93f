"""Bridge benchmark: `shopfloor bridge run` beside a bare paho subscriber and a bare confluent-kafka producer.

    .venv/bin/python benchmarks/bridge.py [--messages 100000] [--publishers 4] [--mqtt-protocol 5|3.1.1]

Uses the stack the settings point at (SHOPFLOOR_MQTT_* / SHOPFLOOR_KAFKA_*, the dev stack by default),
under a unique enterprise and topic prefix, deleted afterwards. Run it on a quiet machine.

- load: ``mosquitto_pub -l`` processes, one per machine topic, fed by a few Python processes that stamp each
  event's ts as they write it (see mqtt_load.py for why not paho: its CPU would be taken from what is measured).
- throughput, live: N QoS 1 messages from the publisher processes while the consumer runs; rate = N over
  start signal -> last message processed (in Kafka for the bridge, received for the bare subscriber).
- throughput, drained: the N messages are queued in the consumer's persistent session first; rate from its
  first to its last message (Kafka append times for the bridge). The bare producer: N as fast as it goes.
- the bridge must leave exactly N records with N distinct event ids in Kafka (no loss, no duplicate).
- latency at paced rates: MQTT publish (the event's ts) -> Kafka append (LogAppendTime on the benchmark's
  telemetry topic); publish -> receipt for the bare subscriber; produce() -> delivery for the bare producer.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import tempfile
import threading
import time
import uuid
from contextlib import closing
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from confluent_kafka import KafkaError, Message
from confluent_kafka.admin import (  # type: ignore[attr-defined]  # re-exported without __all__
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)
from mqtt_load import LinePublishers
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from rich.console import Console
from rich.table import Table

from edge.bridge.testing import BridgeProcess, EndOffsets, forget_session, read_topics
from edge.mqtt_login import login
from shopfloor.kafka.admin import delete_topics, ensure_topics, make_admin
from shopfloor.kafka.producer import make_producer
from shopfloor.settings import KafkaSettings, MqttSettings
from shopfloor.topics import KafkaTopic, MqttKind, mqtt_topic, topic_name

MACHINES = [f"M{i:02d}" for i in range(40)]
TICK_S = 0.001  # paced publishers write what is due, then sleep this long
TEMPLATE = (
    '{"event_id":"%s","source":"%s","seq":%d,"ts":"%s","type":"machine.state",'
    '"payload":{"machine_id":"%s","state":"RUNNING","reason_code":"bench"}}'
)


def event_bytes(source: str, seq: int) -> bytes:
    machine = MACHINES[seq % len(MACHINES)]
    return (TEMPLATE % (uuid.uuid4(), source, seq, datetime.now(UTC).isoformat(), machine)).encode()


def ts_of(payload: bytes) -> float:
    return datetime.fromisoformat(json.loads(payload)["ts"]).timestamp()


def publisher(settings: MqttSettings, source: str, count: int, rate: float, ready: Event, go: Event) -> None:
    """Publish ``count`` events at ``rate`` msg/s (0: as fast as possible, payloads built beforehand)."""
    topics = [mqtt_topic(settings.enterprise, settings.site, "bench", "l1", m, MqttKind.STATE) for m in MACHINES]
    with LinePublishers(settings, topics) as publishers:
        if not rate:
            blobs = [bytearray() for _ in topics]
            for seq in range(count):
                blobs[seq % len(topics)] += event_bytes(source, seq) + b"\n"
            ready.set()
            go.wait()
            publishers.send_all([bytes(blob) for blob in blobs])
            return
        ready.set()
        go.wait()
        start, seq = time.perf_counter(), 0
        while seq < count:
            # Each tick: stamp and write what is due by now, then sleep.
            due = min(count, int((time.perf_counter() - start) * rate) + 1)
            lines: dict[int, bytearray] = {}
            for n in range(seq, due):
                lines.setdefault(n % len(topics), bytearray()).extend(event_bytes(source, n) + b"\n")
            for index, blob in lines.items():
                publishers.send(index, bytes(blob))
            seq = due
            time.sleep(TICK_S)


def bare_subscriber(
    settings: MqttSettings, client_id: str, protocol: str, expected: int, measure: bool, ready: Event, out: Queue[Any]
) -> None:
    """Receive QoS 1 and discard (or only note latency); report when the first and last message came.

    paho at its fastest: ``loop_forever`` on this thread, so its automatic PUBACKs are written directly
    (with ``loop_start`` every ack also wakes the network thread through a socket pair).
    """
    mc, connect_args = subscriber(client_id, protocol)
    login(mc, settings)
    latencies: list[float] = []
    count, first, last = 0, 0.0, 0.0

    def on_message(c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        nonlocal count, first, last
        now = time.time()
        if count == 0:
            first = now
        count += 1
        if measure:
            latencies.append(now - ts_of(bytes(msg.payload)))
        if count >= expected:
            last = now
            c.disconnect()

    mc.on_connect = lambda c, *_a: c.subscribe(subscription(settings), qos=1)
    mc.on_subscribe = lambda *_a: ready.set()
    mc.on_message = on_message
    mc.connect(settings.host, settings.port, **connect_args)
    give_up = threading.Timer(600, mc.disconnect)
    give_up.start()
    mc.loop_forever()
    give_up.cancel()
    out.put({"first": first, "last": last, "count": count, "latencies": latencies})


def subscription(settings: MqttSettings) -> str:
    return f"shopfloor/v1/{settings.enterprise}/{settings.site}/#"


def subscriber(client_id: str, protocol: str) -> tuple[mqtt.Client, dict[str, Any]]:
    """A persistent-session subscriber client and its ``connect()`` keyword arguments."""
    if protocol == "5":
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        mc = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5)
        return mc, {"clean_start": False, "properties": props}
    v311 = MQTTProtocolVersion.MQTTv311
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=v311, clean_session=False), {}


def prepare_session(settings: MqttSettings, client_id: str, protocol: str) -> None:
    """Create a persistent session with the subscription, so what is published next is queued for it."""
    mc, connect_args = subscriber(client_id, protocol)
    login(mc, settings)
    subscribed = threading.Event()
    mc.on_connect = lambda c, *_a: c.subscribe(subscription(settings), qos=1)
    mc.on_subscribe = lambda *_a: subscribed.set()
    mc.connect(settings.host, settings.port, **connect_args)
    mc.loop_start()
    subscribed.wait(30)
    mc.disconnect()
    mc.loop_stop()


def run_publishers(settings: MqttSettings, source: str, total: int, procs: int, rate: float) -> tuple[list[Any], float]:
    """Start publisher processes, wait until all are connected, release them; returns (processes, t0)."""
    ready = [mp.Event() for _ in range(procs)]
    go = mp.Event()
    workers = [
        mp.Process(target=publisher, args=(settings, f"{source}-{i}", total // procs, rate / procs, r, go))
        for i, r in enumerate(ready)
    ]
    for worker in workers:
        worker.start()
    for r in ready:
        r.wait(120)
    t0 = time.time()
    go.set()
    return workers, t0


def join(workers: list[Any]) -> None:
    _ = [worker.join(600) for worker in workers]


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1] * 1000 if len(values) > 1 else float("nan")


def bare_subscriber_run(
    settings: MqttSettings, total: int, procs: int, rate: float, drain: bool, protocol: str
) -> dict[str, Any]:
    """Live: the subscriber runs while publishers publish. Drain: it starts after all N are queued for it."""
    client_id = f"bench-bare-{uuid.uuid4().hex[:8]}"
    ready, out = mp.Event(), mp.Queue()  # type: ignore[var-annotated]
    args = (settings, client_id, protocol, total, rate > 0, ready, out)
    sub = mp.Process(target=bare_subscriber, args=args)
    if drain:
        prepare_session(settings, client_id, protocol)
        join(run_publishers(settings, "bare", total, procs, rate)[0])
        sub.start()
    else:
        sub.start()
        ready.wait(60)
        workers, t0 = run_publishers(settings, "bare", total, procs, rate)
    result = out.get(timeout=700)
    if not drain:
        join(workers)
    sub.join(60)
    forget_session(settings, client_id)
    span = result["last"] - result["first"] if drain else result["last"] - t0
    return {"rate": (result["count"] - drain) / span, "count": result["count"], "lat": result["latencies"]}


def bridge_run(
    bridge: BridgeProcess, mqtt_settings: MqttSettings, kafka: KafkaSettings, total: int, procs: int, rate: float,
    source: str, drain: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Live: publish while the bridge runs; rate = N / (last in Kafka - start). Drain: publish N while the
    bridge is stopped, restart it; rate from the first to the last Kafka append time."""
    telemetry = topic_name(KafkaTopic.TELEMETRY, kafka.topic_prefix)
    with closing(EndOffsets(kafka, telemetry, kafka.partitions)) as in_topic:
        before = in_topic()
        if drain:
            bridge.terminate()
            join(run_publishers(mqtt_settings, source, total, procs, rate)[0])
            bridge.start()
        else:
            workers, t0 = run_publishers(mqtt_settings, source, total, procs, rate)
        deadline = time.monotonic() + 600
        # Often enough to time the end of a throughput run; a paced run only needs to know it is over.
        every = 0.5 if rate else 0.02
        while in_topic() - before < total and time.monotonic() < deadline:
            time.sleep(every)
        t_end = time.time()
        if not drain:
            join(workers)
        time.sleep(1.0)  # anything beyond N would be a duplicate: give it a moment to show
        records = [
            r
            for r in read_topics(kafka, [telemetry], lambda rs: len(rs) >= before + total, timeout=120)
            if r.headers.get("source", b"").decode().startswith(source)
        ]
        in_kafka = in_topic() - before
    ids = {r.headers["event_id"] for r in records}
    lat = [r.timestamp_ms / 1000 - ts_of(r.value) for r in records] if rate else []
    if drain:
        stamps = [r.timestamp_ms for r in records]
        tput = (len(records) - 1) / ((max(stamps) - min(stamps)) / 1000)
    else:
        tput = total / (t_end - t0)
    return {"rate": tput, "count": in_kafka, "distinct": len(ids), "lat": lat}


def producer_run(kafka: KafkaSettings, total: int, rate: float) -> dict[str, Any]:
    producer = make_producer(kafka, **{"client.id": "bench-bare-producer"})
    topic = topic_name(KafkaTopic.ALERTS, kafka.topic_prefix)
    latencies: list[float] = []
    failed = 0

    def delivered(err: KafkaError | None, msg: Message) -> None:
        nonlocal failed
        if err is not None:
            failed += 1
        elif rate:
            latencies.append(msg.latency() or 0.0)

    payloads = [] if rate else [event_bytes("producer", seq) for seq in range(total)]
    producer.produce(topic, b"warm-up")  # the idempotent producer's id first, outside the measurement
    producer.flush(30)
    start = time.perf_counter()
    for seq in range(total):
        if rate:
            delay = start + seq / rate - time.perf_counter()
            if delay > 0.001:
                time.sleep(delay)
        body = event_bytes("producer", seq) if rate else payloads[seq]
        while True:
            try:
                producer.produce(topic, body, MACHINES[seq % len(MACHINES)], on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.01)
        if rate or seq % 500 == 0:
            producer.poll(0)  # paced: serve each delivery report when it comes, or latency() grows
    producer.flush(60)
    elapsed = time.perf_counter() - start
    producer.close()
    return {"rate": total / elapsed, "count": total - failed, "lat": latencies}


def log_append_time(kafka: KafkaSettings) -> None:
    """Let the telemetry topic stamp records when Kafka appends them: the end of the bridge's latency."""
    entry = ConfigEntry("message.timestamp.type", "LogAppendTime", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.TOPIC, topic_name(KafkaTopic.TELEMETRY, kafka.topic_prefix))
    resource.add_incremental_config(entry)
    admin = make_admin(kafka)  # kept referenced until the futures resolve
    for future in admin.incremental_alter_configs([resource]).values():
        future.result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each paced latency run")
    parser.add_argument("--rates", default="1000,5000")
    parser.add_argument("--mqtt-protocol", choices=["5", "3.1.1"], default="5", help="bridge and bare subscriber")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    protocol: str = args.mqtt_protocol
    run_id = uuid.uuid4().hex[:8]
    kafka = KafkaSettings().model_copy(update={"topic_prefix": f"bench{run_id}.", "partitions": 6})
    base = MqttSettings()
    bare_mqtt = base.model_copy(update={"enterprise": f"benchbare{run_id}"})
    bridge_mqtt = base.model_copy(update={"enterprise": f"benchbridge{run_id}"})
    console = Console()
    ensure_topics(kafka)
    results: dict[str, dict[str, Any]] = {"bridge": {}, "bare_subscriber": {}, "bare_producer": {}}
    try:
        log_append_time(kafka)
        k = args.publishers
        n = args.messages // k * k  # every publisher sends the same count
        console.print(f"throughput: {n} messages from {k} publisher processes, live and drained")
        results["bare_subscriber"]["live"] = bare_subscriber_run(bare_mqtt, n, k, 0, False, protocol)
        results["bare_subscriber"]["drain"] = bare_subscriber_run(bare_mqtt, n, k, 0, True, protocol)
        # A producer has no backlog to drain: as fast as it goes, for both columns.
        results["bare_producer"]["live"] = results["bare_producer"]["drain"] = producer_run(kafka, n, 0)
        log = Path(tempfile.gettempdir()) / f"bench-bridge-{run_id}.log"
        bridge_args = ("--bridge-id", f"bench-{run_id}", "--mqtt-protocol", protocol)
        with BridgeProcess(bridge_mqtt, kafka, log, *bridge_args) as bridge:
            bridge.start()
            results["bridge"]["live"] = bridge_run(bridge, bridge_mqtt, kafka, n, k, 0, "live")
            results["bridge"]["drain"] = bridge_run(bridge, bridge_mqtt, kafka, n, k, 0, "drain", drain=True)
            for rate in rates:
                count = int(rate * args.seconds)
                console.print(f"latency at {rate} msg/s, {count} messages")
                results["bridge"][f"r{rate}"] = bridge_run(bridge, bridge_mqtt, kafka, count, 1, rate, f"lat{rate}")
                results["bare_subscriber"][f"r{rate}"] = bare_subscriber_run(bare_mqtt, count, 1, rate, False, protocol)
                results["bare_producer"][f"r{rate}"] = producer_run(kafka, count, rate)
            bridge.terminate()
    finally:
        delete_topics(kafka)
    report(console, results, rates, n, protocol)


def report(console: Console, results: dict[str, dict[str, Any]], rates: list[int], n: int, protocol: str) -> None:
    table = Table(
        title=f"MQTT {protocol} QoS 1 -> Kafka, {n} messages; latency: publish -> append / receipt / delivery"
    )
    table.add_column("path")
    table.add_column("live msg/s", justify="right")
    table.add_column("drain msg/s", justify="right")
    for rate in rates:
        table.add_column(f"p50 ms @{rate}/s", justify="right")
        table.add_column(f"p99 ms @{rate}/s", justify="right")
    summary: dict[str, Any] = {"mqtt_protocol": protocol, "messages": n}
    for name, runs in results.items():
        row: dict[str, Any] = {"live_msg_s": round(runs["live"]["rate"]), "drain_msg_s": round(runs["drain"]["rate"])}
        for rate in rates:
            lat = runs[f"r{rate}"]["lat"]
            row[f"p50_ms_{rate}"] = round(pct(lat, 50), 2)
            row[f"p99_ms_{rate}"] = round(pct(lat, 99), 2)
        summary[name] = row
        table.add_row(name, *(f"{v:,}" if isinstance(v, int) else f"{v:.2f}" for v in row.values()))
    bridge, bare = summary["bridge"], summary["bare_subscriber"]
    runs = results["bridge"]
    lossless = all(runs[mode]["count"] == runs[mode]["distinct"] == n for mode in ("live", "drain"))
    summary["bridge_lossless"] = lossless
    for mode in ("live", "drain"):
        summary[f"ratio_{mode}_bridge_to_bare_subscriber"] = round(bridge[f"{mode}_msg_s"] / bare[f"{mode}_msg_s"], 3)
    summary["ratio_bridge_to_bare_producer"] = round(bridge["drain_msg_s"] / summary["bare_producer"]["drain_msg_s"], 3)
    top = max(rates)
    summary["goals"] = {
        "bridge_ge_10000_msg_s_live": bridge["live_msg_s"] >= 10_000,
        "bridge_ge_10000_msg_s_drain": bridge["drain_msg_s"] >= 10_000,
        "ratio_ge_0.6_live": summary["ratio_live_bridge_to_bare_subscriber"] >= 0.6,
        "ratio_ge_0.6_drain": summary["ratio_drain_bridge_to_bare_subscriber"] >= 0.6,
        f"p99_lt_100ms_at_{top}": bridge[f"p99_ms_{top}"] < 100,
    }
    console.print(table)
    console.print(
        f"bridge: {'no loss, no duplicate' if lossless else 'LOSS OR DUPLICATES'} in the live and drain runs; "
        f"bridge / bare subscriber = {summary['ratio_live_bridge_to_bare_subscriber']} live, "
        f"{summary['ratio_drain_bridge_to_bare_subscriber']} drained; goals: {summary['goals']}"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    mp.set_start_method("spawn")
    main()
