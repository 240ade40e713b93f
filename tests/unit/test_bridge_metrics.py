"""Bridge metrics: counters by label, in-flight from the two one-writer counters, text exposition."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from edge.bridge.metrics import BridgeMetrics

pytestmark = pytest.mark.unit


def _samples(metrics: BridgeMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_counters_by_topic_and_reason_and_in_flight() -> None:
    metrics = BridgeMetrics("b1")
    metrics.taken = 5
    metrics.finished = 3
    metrics.received.inc(5)
    metrics.produced_to("shopfloor.telemetry").inc(2)
    metrics.dead_lettered_for("not_json").inc()
    metrics.dead_lettered_for("not_json").inc()
    metrics.dead_lettered_for("topic").inc()
    samples = _samples(metrics)
    assert samples[("shopfloor_bridge_received_total", ())] == 5
    assert samples[("shopfloor_bridge_produced_total", (("topic", "shopfloor.telemetry"),))] == 2
    assert samples[("shopfloor_bridge_dead_lettered_total", (("reason", "not_json"),))] == 2
    assert samples[("shopfloor_bridge_dead_lettered_total", (("reason", "topic"),))] == 1
    assert samples[("shopfloor_bridge_in_flight", ())] == 2


def test_latency_histogram_buckets() -> None:
    metrics = BridgeMetrics("b1")
    for seconds in (0.0005, 0.003, 0.003, 0.2):
        metrics.delivery_latency.observe(seconds)
    samples = _samples(metrics)
    bucket = "shopfloor_bridge_delivery_latency_seconds_bucket"
    assert samples[(bucket, (("le", "0.001"),))] == 1
    assert samples[(bucket, (("le", "0.005"),))] == 3
    assert samples[(bucket, (("le", "0.1"),))] == 3
    assert samples[(bucket, (("le", "0.25"),))] == 4
    assert samples[("shopfloor_bridge_delivery_latency_seconds_count", ())] == 4


def test_two_bridges_in_one_process_keep_separate_registries() -> None:
    first, second = BridgeMetrics("a"), BridgeMetrics("b")
    first.received.inc(3)
    first.up.set(1)
    samples = _samples(second)
    assert samples[("shopfloor_bridge_received_total", ())] == 0
    assert samples[("shopfloor_bridge_up", (("bridge", "b"),))] == 0
    assert _samples(first)[("shopfloor_bridge_up", (("bridge", "a"),))] == 1
