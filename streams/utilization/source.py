"""bytewax's KafkaSource, exporting consumer lag from the offsets it puts in snapshots.

bytewax reads Kafka with ``assign()`` and keeps its offsets only in its recovery snapshots, never in a
consumer group, so Kafka's group tools show no lag for it. Each partition here reports, whenever its
offset is snapshotted, ``end offset - snapshot offset`` (the end offset as the consumer last fetched
it, no extra request) as ``shopfloor_streams_consumer_lag``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bytewax.connectors.kafka import KafkaSource
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from shopfloor.settings import KafkaSettings
from shopfloor.topics import KafkaTopic, topic_name
from streams.metrics import CONSUMER_LAG

PROCESSOR = "utilization"


class _LagPartition(StatefulSourcePartition[Any, int | None]):
    def __init__(self, inner: StatefulSourcePartition[Any, int | None], topic: str, partition: int) -> None:
        self._inner = inner
        self._tp = TopicPartition(topic, partition)
        self._gauge = CONSUMER_LAG.labels(processor=PROCESSOR, topic=topic, partition=str(partition))

    def next_batch(self) -> list[Any]:
        return list(self._inner.next_batch())

    def next_awake(self) -> datetime | None:
        return self._inner.next_awake()

    def snapshot(self) -> int | None:
        offset = self._inner.snapshot()
        self._report(offset)
        return offset

    def _report(self, offset: int | None) -> None:
        consumer = getattr(self._inner, "_consumer", None)
        if consumer is None:
            return
        try:
            low, high = consumer.get_watermark_offsets(self._tp, cached=True)
        except Exception:
            return
        if high < 0:
            return
        position = low if offset is None or offset == OFFSET_BEGINNING or offset < 0 else offset
        self._gauge.set(max(0, high - position))

    def close(self) -> None:
        self._inner.close()


class LagReportingKafkaSource(FixedPartitionedSource[Any, int | None]):
    """A KafkaSource (same partitions, same snapshots) whose partitions report their lag."""

    def __init__(self, inner: KafkaSource) -> None:
        self._inner = inner

    def list_parts(self) -> list[str]:
        return self._inner.list_parts()

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _LagPartition:
        part = self._inner.build_part(step_id, for_part, resume_state)
        idx, topic = for_part.split("-", 1)
        return _LagPartition(part, topic, int(idx))


def telemetry_source(kafka: KafkaSettings, batch_size: int, *, tail: bool = True) -> LagReportingKafkaSource:
    """The telemetry topic from its beginning (a resume starts from the snapshot's offsets instead)."""
    return LagReportingKafkaSource(
        KafkaSource(
            brokers=kafka.bootstrap_servers.split(","),
            topics=[topic_name(KafkaTopic.TELEMETRY, kafka.topic_prefix)],
            tail=tail,
            starting_offset=OFFSET_BEGINNING,
            # statistics.interval.ms: librdkafka refreshes the cached end offsets the lag is computed from.
            add_config={"client.id": f"{kafka.client_id}-utilization", "statistics.interval.ms": "5000"},
            batch_size=batch_size,
        )
    )
