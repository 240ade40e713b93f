"""Prometheus metrics of the utilization flow (served by ``shopfloor streams utilization run``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

LATE_EVENTS = Counter(
    "shopfloor_streams_late_events_total",
    "Events that reached a stream processor after their window had closed (written to late_event).",
    ["processor"],
)
SKIPPED_MESSAGES = Counter(
    "shopfloor_streams_skipped_messages_total",
    "Messages a stream processor skipped: invalid (dead-lettered by the raw sink) or of no interest.",
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
