"""Prometheus metrics of one bridge, in a registry of its own (several bridges can live in one process).

The bridge counts in plain attributes and a custom collector turns them into metrics at scrape time.
prometheus_client's Counter and Histogram take a lock on every update (about 2 and 6 µs here, twice per
message: a quarter of the bridge's own work per message). Every value has one writer thread: the MQTT
network thread counts what it takes, the Kafka poll thread (or the stopping thread, after the poll thread
ended) what it finishes; a scrape reads them as they are.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Final

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

# Seconds; a healthy bridge delivers in milliseconds, an outage shows up in the top buckets.
LATENCY_BUCKETS: Final = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class LatencyHistogram:
    """Bucket counts for a single writer thread: ``observe`` is a bisect and two additions."""

    def __init__(self, buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.bounds = list(buckets)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1  # le semantics: a value on a bound counts there
        self.total += seconds

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        counts = list(self.counts)
        cumulative, buckets = 0, []
        for bound, count in zip([*map(str, self.bounds), "+Inf"], counts, strict=True):
            cumulative += count
            buckets.append((bound, float(cumulative)))
        return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=self.total)


class BridgeMetrics(Collector):
    def __init__(self, bridge_id: str, registry: CollectorRegistry | None = None) -> None:
        self.bridge_id = bridge_id
        self.taken = 0  # MQTT messages taken from the broker (network thread)
        self.finished = 0  # taken messages acknowledged after Kafka delivery (poll thread)
        self.produced: dict[str, int] = {}  # by Kafka topic
        self.dead_lettered: dict[str, int] = {}  # by reason
        self.delivery_failed = 0
        self.up = False
        self.delivery_latency = LatencyHistogram()
        self.event_latency = LatencyHistogram()
        self.registry = registry if registry is not None else CollectorRegistry()
        self.registry.register(self)

    # -- writers (hot path: no locks, no allocation beyond a dict slot) --------------------------------

    def record_produced(self, topic: str, latency: float, event_age: float | None) -> None:
        self.finished += 1
        self.produced[topic] = self.produced.get(topic, 0) + 1
        self.delivery_latency.observe(latency)
        if event_age is not None:
            self.event_latency.observe(event_age)

    def record_dead_letter(self, reason: str, latency: float) -> None:
        self.finished += 1
        self.dead_lettered[reason] = self.dead_lettered.get(reason, 0) + 1
        self.delivery_latency.observe(latency)

    # -- scrape -----------------------------------------------------------------------------------------

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        yield CounterMetricFamily("shopfloor_bridge_received", "MQTT messages taken from the broker.", self.taken)
        produced = CounterMetricFamily(
            "shopfloor_bridge_produced",
            "Events delivered to their Kafka topic (acknowledged by Kafka).",
            labels=["topic"],
        )
        for topic, count in list(self.produced.items()):
            produced.add_metric([topic], count)
        yield produced
        dead = CounterMetricFamily(
            "shopfloor_bridge_dead_lettered", "Invalid messages delivered to the dead-letter topic.", labels=["reason"]
        )
        for reason, count in list(self.dead_lettered.items()):
            dead.add_metric([reason], count)
        yield dead
        yield CounterMetricFamily(
            "shopfloor_bridge_delivery_failed",
            "Dead letters Kafka refused; their MQTT messages stay unacknowledged until the next session.",
            self.delivery_failed,
        )
        yield GaugeMetricFamily(
            "shopfloor_bridge_in_flight",
            "Messages taken from MQTT and not yet acknowledged after Kafka delivery.",
            self.taken - self.finished,
        )
        up = GaugeMetricFamily("shopfloor_bridge_up", "1 while the bridge is subscribed.", labels=["bridge"])
        up.add_metric([self.bridge_id], 1.0 if self.up else 0.0)
        yield up
        yield self.delivery_latency.family(
            "shopfloor_bridge_delivery_latency_seconds", "From MQTT receipt to Kafka delivery confirmation."
        )
        yield self.event_latency.family(
            "shopfloor_bridge_event_latency_seconds",
            "From the event's own ts (publish time) to Kafka delivery; replays excluded.",
        )

    def exposition(self) -> bytes:
        """The text format a scrape would return."""
        return generate_latest(self.registry)
