"""The telemetry topic as a bytewax source: offsets in snapshots, lag exported, only the bytes passed on.

Like bytewax's KafkaSource, each Kafka partition is a source partition read with ``assign()`` (no
consumer group) whose offset is kept in bytewax's recovery snapshots, so a resume continues where the
last snapshot was taken. Unlike it, a batch is the list of message values (no message object per
event: that alone cost a quarter of the flow's time), and messages whose ``type`` header names an
event the flow does not use are dropped before parsing. Whenever its offset is snapshotted, a
partition exports ``end offset - snapshot offset`` (the end offset as last fetched, no extra request)
as ``shopfloor_streams_consumer_lag``: Kafka's group tools cannot show a lag for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from shopfloor.settings import KafkaSettings
from shopfloor.topics import KafkaTopic, topic_name
from streams.metrics import CONSUMER_LAG

PROCESSOR = "utilization"
# The event-type header producers set (the bridge, shopfloor.kafka.producer). The header name moves
# into the core with issue 18; until then it is the literal both producers use.
TYPE_HEADER = "type"
WANTED_TYPES = frozenset({b"machine.state", b"machine.counter"})


def _wanted(headers: object) -> bool:
    """False when the type header names an event the flow does not use (librdkafka gives a list)."""
    if isinstance(headers, list):
        for name, value in headers:
            if name == TYPE_HEADER:
                return value in WANTED_TYPES
    return True


class _Partition(StatefulSourcePartition[bytes, int]):
    def __init__(self, config: dict[str, Any], topic: str, partition: int, offset: int, batch_size: int) -> None:
        self._tp = TopicPartition(topic, partition)
        self._consumer = Consumer(config)
        self._consumer.assign([TopicPartition(topic, partition, offset)])
        self._offset = offset
        self._batch_size = batch_size
        self._eof = False
        self._gauge = CONSUMER_LAG.labels(processor=PROCESSOR, topic=topic, partition=str(partition))

    def next_batch(self) -> list[bytes]:
        if self._eof:
            raise StopIteration()
        batch: list[bytes] = []
        last = None
        for message in self._consumer.consume(self._batch_size, 0.001):
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    self._eof = True
                    break
                raise KafkaException(error)
            last = message.offset()
            value = message.value()
            if value is not None and _wanted(message.headers()):
                batch.append(value)
        if last is not None:
            self._offset = last + 1
        return batch

    def next_awake(self) -> datetime | None:
        return None

    def snapshot(self) -> int:
        self._report()
        return self._offset

    def _report(self) -> None:
        try:
            low, high = self._consumer.get_watermark_offsets(self._tp, cached=True)
        except KafkaException:
            return  # nothing fetched yet: the next snapshot reports
        if high < 0:
            return
        position = low if self._offset < 0 else self._offset
        self._gauge.set(max(0, high - position))

    def close(self) -> None:
        self._consumer.close()


class TelemetrySource(FixedPartitionedSource[bytes, int]):
    """Every partition of the topics, from the beginning (or the snapshot); ``tail=False`` ends at EOF."""

    def __init__(
        self,
        bootstrap_servers: str,
        topics: list[str],
        *,
        batch_size: int = 1000,
        tail: bool = True,
        client_id: str = "shopfloor-utilization",
        starting_offset: int = OFFSET_BEGINNING,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = topics
        self.batch_size = batch_size
        self.tail = tail
        self.client_id = client_id
        self.starting_offset = starting_offset

    def list_parts(self) -> list[str]:
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
        metadata = admin.list_topics(timeout=30)
        parts: list[str] = []
        for topic in self.topics:
            found = metadata.topics.get(topic)
            if found is None or found.error is not None:
                raise KafkaException(f"topic {topic!r} is not available: {found.error if found else 'missing'}")
            parts.extend(f"{index}-{topic}" for index in sorted(found.partitions))
        return parts

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _Partition:
        index, topic = for_part.split("-", 1)
        config = {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": self.client_id,
            # assign() without a group: these only silence librdkafka's group machinery.
            "group.id": "shopfloor-utilization-unused",
            "enable.auto.commit": False,
            "enable.partition.eof": not self.tail,
            # Refreshes the cached end offsets the lag is computed from.
            "statistics.interval.ms": 5000,
            "stats_cb": lambda _stats: None,
        }
        offset = self.starting_offset if resume_state is None else resume_state
        return _Partition(config, topic, int(index), offset, self.batch_size)


def telemetry_source(kafka: KafkaSettings, batch_size: int, *, tail: bool = True) -> TelemetrySource:
    """The telemetry topic from its beginning (a resume starts from the snapshot's offsets instead)."""
    return TelemetrySource(
        kafka.bootstrap_servers,
        [topic_name(KafkaTopic.TELEMETRY, kafka.topic_prefix)],
        batch_size=batch_size,
        tail=tail,
        client_id=f"{kafka.client_id}-utilization",
    )
