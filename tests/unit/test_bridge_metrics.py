"""Bridge metrics: what the hot path records comes out of a scrape as Prometheus counters and histograms."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from edge.bridge.metrics import BridgeMetrics, LatencyHistogram

pytestmark = pytest.mark.unit

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(metrics: BridgeMetrics) -> Samples:
    text = metrics.exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_counts_by_topic_and_reason_and_in_flight() -> None:
    metrics = BridgeMetrics("b1")
    metrics.taken = 6
    metrics.record_produced("shopfloor.telemetry", 0.004, 0.010)
    metrics.record_produced("shopfloor.telemetry", 0.003, None)
    metrics.record_produced("shopfloor.mes", 0.003, 0.2)
    metrics.record_dead_letter("not_json", 0.002)
    metrics.record_dead_letter("topic", 0.002)
    metrics.delivery_failed += 1
    samples = _samples(metrics)
    assert samples[("shopfloor_bridge_received_total", ())] == 6
    assert samples[("shopfloor_bridge_produced_total", (("topic", "shopfloor.telemetry"),))] == 2
    assert samples[("shopfloor_bridge_produced_total", (("topic", "shopfloor.mes"),))] == 1
    assert samples[("shopfloor_bridge_dead_lettered_total", (("reason", "not_json"),))] == 1
    assert samples[("shopfloor_bridge_dead_lettered_total", (("reason", "topic"),))] == 1
    assert samples[("shopfloor_bridge_delivery_failed_total", ())] == 1
    assert samples[("shopfloor_bridge_in_flight", ())] == 1  # 6 taken, 5 finished
    assert samples[("shopfloor_bridge_delivery_latency_seconds_count", ())] == 5
    assert samples[("shopfloor_bridge_event_latency_seconds_count", ())] == 2  # the replay has no age
    assert samples[("shopfloor_bridge_event_latency_seconds_sum", ())] == pytest.approx(0.21)


def test_histogram_buckets_are_cumulative_with_le_semantics() -> None:
    histogram = LatencyHistogram((0.001, 0.005, 0.1))
    for seconds in (0.0005, 0.001, 0.003, 0.003, 0.2):
        histogram.observe(seconds)
    family = histogram.family("h_seconds", "test")
    buckets = {s.labels["le"]: s.value for s in family.samples if s.name == "h_seconds_bucket"}
    assert buckets == {"0.001": 2, "0.005": 4, "0.1": 4, "+Inf": 5}
    assert [s.value for s in family.samples if s.name == "h_seconds_count"] == [5]
    assert [s.value for s in family.samples if s.name == "h_seconds_sum"] == [pytest.approx(0.2075)]


def test_two_bridges_in_one_process_keep_separate_registries() -> None:
    first, second = BridgeMetrics("a"), BridgeMetrics("b")
    first.taken = 3
    first.up = True
    assert _samples(second)[("shopfloor_bridge_received_total", ())] == 0
    assert _samples(second)[("shopfloor_bridge_up", (("bridge", "b"),))] == 0
    assert _samples(first)[("shopfloor_bridge_up", (("bridge", "a"),))] == 1
