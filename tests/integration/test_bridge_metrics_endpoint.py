"""The Prometheus endpoint of a real ``shopfloor bridge run --metrics-port`` process, scraped over HTTP.

Valid events of every MQTT data kind (some of them store-and-forward replays) and one malformed message of
every kind the simulator injects go through the shared Mosquitto; once Kafka holds them all, the scrape
must count exactly what Kafka holds, per topic and per dead-letter reason, and the documented metric
names and labels must be the ones served.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from edge.bridge.routing import HEADER_EVENT_ID, HEADER_REASON
from edge.bridge.testing import BridgeProcess, PacedPublisher, Record, read_topics
from edge.sim.faults import MalformedKind, MalformedMessage, malformed_message
from shopfloor.events import (
    EventBase,
    MachineCounterEvent,
    MachineCounterPayload,
    MachineProcessEvent,
    MachineProcessPayload,
    MachineState,
    MachineStateEvent,
    MachineStatePayload,
    ProcessValue,
    WoReportedEvent,
    WoReportedPayload,
    WoStartedEvent,
    WoStartedPayload,
)
from shopfloor.settings import KafkaSettings, MqttSettings
from shopfloor.stack.process import free_port
from shopfloor.topics import KafkaTopic, MqttKind, mqtt_topic, topic_name

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DOCUMENTING = [REPO / "edge" / "bridge" / "README.md", REPO / "docs" / "operations.md"]
MACHINES = ["H1", "H2", "H3", "H4"]
VALID_COUNT = 150
REPLAY_EVERY = 6  # every 6th valid event is a store-and-forward replay: no event latency for it

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _valid_events(count: int) -> Iterator[tuple[MqttKind, str, EventBase]]:
    """(kind, cell, event): state, counter, process, work-order start and report events in rotation."""
    now = datetime.now(UTC)
    states = list(MachineState)
    for seq in range(count):
        machine = MACHINES[seq % len(MACHINES)]
        common = {"event_id": uuid.uuid4(), "source": "gw-1", "seq": seq, "ts": now}
        common["historical"] = seq % REPLAY_EVERY == REPLAY_EVERY - 1
        order = f"WO-{seq % 5}"
        match seq % 5:
            case 0:
                payload = MachineStatePayload(machine_id=machine, state=states[seq % len(states)])
                yield MqttKind.STATE, machine, MachineStateEvent(**common, payload=payload)
            case 1:
                counts = MachineCounterPayload(machine_id=machine, good=seq, scrap=seq // 10)
                yield MqttKind.COUNTER, machine, MachineCounterEvent(**common, payload=counts)
            case 2:
                values = [ProcessValue(name="force", value=12.5 + seq, unit="kN")]
                process = MachineProcessPayload(machine_id=machine, values=values)
                yield MqttKind.PROCESS, machine, MachineProcessEvent(**common, payload=process)
            case 3:
                started = WoStartedPayload(work_order_id=order, machine_id=machine)
                yield MqttKind.WO, machine, WoStartedEvent(**common, payload=started)
            case _:
                report = WoReportedPayload(work_order_id=order, machine_id=machine, good=seq % 7)
                yield MqttKind.WO, machine, WoReportedEvent(**common, payload=report)


def _scrape(url: str) -> list[Metric]:
    response = httpx.get(url, timeout=5.0)
    response.raise_for_status()
    return list(text_string_to_metric_families(response.text))


def _samples(families: list[Metric]) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in families
        for sample in family.samples
    }


def _by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    return {dict(labels)[label]: value for (sample, labels), value in samples.items() if sample == name}


def _settled(url: str, taken: int, timeout: float = 20.0) -> list[Metric]:
    """Scrape until the bridge took ``taken`` messages and finished them all (Kafka may show a record
    before the bridge has served its delivery report)."""
    deadline = time.monotonic() + timeout
    while True:
        families = _scrape(url)
        samples = _samples(families)
        received = samples.get(("shopfloor_bridge_received_total", frozenset()))
        in_flight = samples.get(("shopfloor_bridge_in_flight", frozenset()))
        if (received == taken and in_flight == 0) or time.monotonic() > deadline:
            return families
        time.sleep(0.1)


def _served_names(families: list[Metric]) -> set[tuple[str, frozenset[str]]]:
    """(name as documented, label names) of every served series: counters with ``_total``, histograms
    by family name without ``le``."""
    served = set()
    for family in families:
        name = f"{family.name}_total" if family.type == "counter" else family.name
        for sample in family.samples:
            served.add((name, frozenset(sample.labels) - {"le"}))
    return served


def _documented_names(path: Path) -> set[tuple[str, frozenset[str]]]:
    """Every `shopfloor_bridge_...{label,...}` a document names in code quotes."""
    documented = set()
    for name, labels in re.findall(r"`(shopfloor_bridge_\w+)(?:\{([^}]*)\})?`", path.read_text()):
        documented.add((name, frozenset(label.strip() for label in labels.split(",") if label.strip())))
    return documented


def _malformed(valid: list[tuple[MqttKind, str, EventBase]]) -> list[MalformedMessage]:
    rng = random.Random(20261125)
    state_event = next(event for kind, _cell, event in valid if kind is MqttKind.STATE)
    return [malformed_message(kind, state_event, rng, peers=MACHINES) for kind in MalformedKind]


def test_scraped_metrics_count_what_kafka_holds_and_match_the_docs(
    kafka_settings: KafkaSettings, mqtt_settings: MqttSettings, tmp_path: Path
) -> None:
    valid = list(_valid_events(VALID_COUNT))
    bad = _malformed(valid)
    replays = sum(event.historical for _k, _c, event in valid)

    def topic(cell: str, kind: MqttKind) -> str:
        return mqtt_topic(mqtt_settings.enterprise, mqtt_settings.site, "heading", "line1", cell, kind)

    # A malformed message after every tenth valid one: the stream must go on around each.
    messages = [(topic(cell, kind), event.to_json()) for kind, cell, event in valid]
    for index, message in reversed(list(enumerate(bad))):
        messages.insert(index * 10 + 5, (topic(message.cell, message.mqtt_kind), message.payload))

    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    bridge_id = f"metrics-{uuid.uuid4().hex[:8]}"
    event_topics = {t: topic_name(t, kafka_settings.topic_prefix) for t in (KafkaTopic.TELEMETRY, KafkaTopic.MES)}
    dead_topic = topic_name(KafkaTopic.DEADLETTER, kafka_settings.topic_prefix)
    wanted = {str(event.event_id) for _k, _c, event in valid}

    def complete(records: list[Record]) -> bool:
        arrived = {r.headers[HEADER_EVENT_ID].decode() for r in records if r.topic != dead_topic}
        return arrived >= wanted and sum(r.topic == dead_topic for r in records) >= len(bad)

    with BridgeProcess(
        mqtt_settings, kafka_settings, tmp_path / "bridge.log", "--bridge-id", bridge_id, "--metrics-port", str(port)
    ) as bridge:
        bridge.start()
        publisher = PacedPublisher(mqtt_settings, messages, batch=50, pause_s=0.0)
        publisher.start()
        publisher.finish()
        records = read_topics(kafka_settings, [*event_topics.values(), dead_topic], complete, timeout=30)
        families = _settled(url, len(messages))
        assert bridge.terminate() == 0  # graceful: flushed, acknowledged, metrics server shut down
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, timeout=2.0)

    samples = _samples(families)
    in_kafka = Counter(r.topic for r in records)
    assert in_kafka[dead_topic] == len(bad)
    assert in_kafka[event_topics[KafkaTopic.TELEMETRY]] + in_kafka[event_topics[KafkaTopic.MES]] == len(valid)
    assert samples[("shopfloor_bridge_received_total", frozenset())] == len(valid) + len(bad)
    assert _by_label(samples, "shopfloor_bridge_produced_total", "topic") == {
        name: in_kafka[name] for name in event_topics.values()
    }
    expected_reasons = Counter(message.expected_reason for message in bad)
    assert _by_label(samples, "shopfloor_bridge_dead_lettered_total", "reason") == expected_reasons
    assert Counter(r.headers[HEADER_REASON].decode() for r in records if r.topic == dead_topic) == expected_reasons
    assert samples[("shopfloor_bridge_delivery_failed_total", frozenset())] == 0
    assert samples[("shopfloor_bridge_in_flight", frozenset())] == 0
    assert samples[("shopfloor_bridge_up", frozenset({("bridge", bridge_id)}))] == 1

    # Delivery latency: every finished message (events and dead letters); event latency: live events only.
    for name, count in (
        ("shopfloor_bridge_delivery_latency_seconds", len(valid) + len(bad)),
        ("shopfloor_bridge_event_latency_seconds", len(valid) - replays),
    ):
        assert samples[(f"{name}_count", frozenset())] == count
        buckets = sorted(
            (float(dict(labels)["le"]), value)
            for (sample, labels), value in samples.items()
            if sample == f"{name}_bucket"
        )
        assert [value for _le, value in buckets] == sorted(value for _le, value in buckets)  # cumulative
        assert buckets[-1] == (float("inf"), count)
        assert samples[(f"{name}_sum", frozenset())] > 0

    served = _served_names(families)
    for path in DOCUMENTING:
        assert _documented_names(path) == served, path.relative_to(REPO)
