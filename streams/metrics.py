"""Prometheus metrics of the stream processors (served by their `run` commands)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

LATE_EVENTS = Counter(
    "shopfloor_streams_late_events_total",
    "Events that reached a stream processor after their window had closed (written to late_event).",
    ["processor"],
)
SKIPPED_MESSAGES = Counter(
    "shopfloor_streams_skipped_messages_total",
    "Invalid messages a stream processor skipped (the raw sink dead-letters them).",
    ["processor"],
)
CONSUMER_LAG = Gauge(
    "shopfloor_streams_consumer_lag",
    "Messages between a partition's end offset and the offset in the processor's last snapshot.",
    ["processor", "topic", "partition"],
)
ROWS_WRITTEN = Counter(
    "shopfloor_streams_rows_written_total",
    "Rows a stream processor's sink upserted.",
    ["processor", "table"],
)
