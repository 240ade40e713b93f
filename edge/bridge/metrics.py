"""Prometheus metrics of one bridge, in a registry of its own (several bridges can live in one process).

In-flight is computed at scrape time from two plain counters, each written by one thread only (the MQTT
network thread counts what it takes, the Kafka poll thread what it finishes), so the hot path takes no lock
for it.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Seconds; a healthy bridge delivers in milliseconds, an outage shows up in the top buckets.
LATENCY_BUCKETS: Final = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class BridgeMetrics:
    def __init__(self, bridge_id: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.received = Counter(
            "shopfloor_bridge_received",
            "MQTT messages taken from the broker.",
            registry=self.registry,
        )
        self.produced = Counter(
            "shopfloor_bridge_produced",
            "Events delivered to their Kafka topic (acknowledged by Kafka).",
            ["topic"],
            registry=self.registry,
        )
        self.dead_lettered = Counter(
            "shopfloor_bridge_dead_lettered",
            "Invalid messages delivered to the dead-letter topic, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.delivery_failed = Counter(
            "shopfloor_bridge_delivery_failed",
            "Kafka deliveries that failed for good; the MQTT message stays unacknowledged.",
            registry=self.registry,
        )
        self.delivery_latency = Histogram(
            "shopfloor_bridge_delivery_latency_seconds",
            "From MQTT receipt to Kafka delivery confirmation.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.event_latency = Histogram(
            "shopfloor_bridge_event_latency_seconds",
            "From the event's own ts (publish time) to Kafka delivery; replays excluded.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.up = Gauge(
            "shopfloor_bridge_up", "1 while the bridge is subscribed.", ["bridge"], registry=self.registry
        ).labels(bridge=bridge_id)
        self.taken = 0  # written by the MQTT thread only
        self.finished = 0  # written by the Kafka poll thread only
        in_flight = Gauge(
            "shopfloor_bridge_in_flight",
            "Messages taken from MQTT and not yet acknowledged after Kafka delivery.",
            registry=self.registry,
        )
        in_flight.set_function(lambda: float(self.taken - self.finished))
        # Children looked up once: labels() hashes and locks on every call.
        self._produced_by_topic: dict[str, Counter] = {}
        self._dead_by_reason: dict[str, Counter] = {}

    def produced_to(self, topic: str) -> Counter:
        child = self._produced_by_topic.get(topic)
        if child is None:
            child = self._produced_by_topic[topic] = self.produced.labels(topic=topic)
        return child

    def dead_lettered_for(self, reason: str) -> Counter:
        child = self._dead_by_reason.get(reason)
        if child is None:
            child = self._dead_by_reason[reason] = self.dead_lettered.labels(reason=reason)
        return child

    def exposition(self) -> bytes:
        """The text format a scrape would return."""
        return generate_latest(self.registry)
