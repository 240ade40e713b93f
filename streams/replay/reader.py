"""Read a topic's time range from Kafka with a consumer of the replay's own.

The consumer uses ``assign()``: it joins no group and never commits, so the live processors' groups and
offsets are untouched (its ``group.id`` is a fresh, unused name librdkafka requires for fetching). The
plan (start and end offsets per partition) is fixed before the first record is read, see :mod:`.ranges`.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from shopfloor.settings import KafkaSettings
from streams.replay.ranges import (
    NO_OFFSET,
    PartitionPlan,
    TimeRange,
    Watermarks,
    check_retention,
    from_millis,
    pending,
    plan_topic,
    to_millis,
)

_TIMEOUT_S = 10.0
Headers = list[tuple[str, str | bytes | None]]


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record as read: where it was, its timestamp, key, value and headers."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: Headers = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TopicPlan:
    """What a replay of one topic reads, decided before reading."""

    topic: str
    time_range: TimeRange
    partitions: list[PartitionPlan]
    # Oldest record timestamp still retained, over all partitions (None: the topic is empty).
    oldest: datetime | None

    @property
    def count(self) -> int:
        return pending(self.partitions)


def headers_of(message: Message) -> Headers:
    """A record's headers as (name, bytes) pairs (string values encoded, empty values kept empty)."""
    raw = message.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return [(name, value.encode() if isinstance(value, str) else (value or b"")) for name, value in pairs]


class ReplayReader:
    """A private ``assign()`` consumer: :meth:`plan` a range, then :meth:`read` it to its end."""

    def __init__(self, settings: KafkaSettings, **overrides: Any) -> None:
        self._readings: list[Generator[list[Record], None, None]] = []
        self._consumer = Consumer(
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "client.id": f"{settings.client_id}-replay",
                "group.id": f"shopfloor-replay-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
                # Planning reads one record per partition in turn: do not wait 500 ms on each empty fetch.
                "fetch.wait.max.ms": 50,
                **overrides,
            }
        )

    # -- planning -----------------------------------------------------------------------------------
    def partitions(self, topic: str) -> list[int]:
        metadata = self._consumer.list_topics(topic, timeout=_TIMEOUT_S).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            reason = metadata.error.str() if metadata is not None and metadata.error is not None else "no partitions"
            raise ValueError(f"cannot replay {topic}: {reason}")
        return sorted(metadata.partitions)

    def watermarks(self, topic: str, partition: int) -> Watermarks:
        low, high = self._consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=_TIMEOUT_S)
        return Watermarks(int(low), int(high))

    def offsets_for(self, topic: str, partitions: list[int], moment: datetime) -> dict[int, int]:
        asked = [TopicPartition(topic, p, to_millis(moment)) for p in partitions]
        found = self._consumer.offsets_for_times(asked, timeout=_TIMEOUT_S)
        result: dict[int, int] = {}
        for tp in found:
            if tp.error is not None:
                raise KafkaException(tp.error)
            result[tp.partition] = int(tp.offset)
        return result

    def timestamp_at(self, topic: str, partition: int, offset: int) -> int | None:
        """Timestamp (ms) of the record at ``offset``, or None when there is none to read."""
        self._consumer.assign([TopicPartition(topic, partition, offset)])
        try:
            for _ in range(int(_TIMEOUT_S * 2)):
                message = self._consumer.poll(0.5)
                if message is None:
                    continue
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        return None
                    raise KafkaException(error)
                return int(message.timestamp()[1])
            raise TimeoutError(f"no answer reading {topic}[{partition}] at offset {offset}")
        finally:
            self._consumer.unassign()

    def plan(self, topic: str, time_range: TimeRange) -> TopicPlan:
        """Offsets to read per partition; raises :class:`.ranges.RetentionError` for a start cut by retention.

        The high watermarks are read first: records written while the replay runs are not part of it.
        """
        partitions = self.partitions(topic)
        watermarks = {p: self.watermarks(topic, p) for p in partitions}
        starts = self.offsets_for(topic, partitions, time_range.start)
        ends = None if time_range.end is None else self.offsets_for(topic, partitions, time_range.end)
        oldest: list[int] = []
        for p in partitions:
            marks = watermarks[p]
            if marks.high > marks.low:
                first = self.timestamp_at(topic, p, marks.low)
                if first is not None:
                    oldest.append(first)
            start = starts[p]
            if start != NO_OFFSET:
                found = self.timestamp_at(topic, p, start) if start < marks.high else None
                check_retention(topic, time_range.start, start, marks, found)
        plans = plan_topic(starts, ends, watermarks)
        return TopicPlan(topic, time_range, plans, from_millis(min(oldest)) if oldest else None)

    # -- reading ------------------------------------------------------------------------------------
    def read(self, plan: TopicPlan, batch_size: int = 1000, poll_timeout: float = 1.0) -> Iterator[list[Record]]:
        """Batches of records, in offset order per partition, until every partition reached its end."""
        reading = self._read(plan, batch_size, poll_timeout)
        self._readings.append(reading)
        return reading

    def _read(self, plan: TopicPlan, batch_size: int, poll_timeout: float) -> Generator[list[Record], None, None]:
        todo = {p.partition: p for p in plan.partitions if p.count > 0}
        if not todo:
            return
        self._consumer.assign([TopicPartition(plan.topic, p.partition, p.start) for p in todo.values()])
        idle_polls = 0
        try:
            while todo:
                messages = self._consumer.consume(num_messages=batch_size, timeout=poll_timeout)
                idle_polls = 0 if messages else idle_polls + 1
                if idle_polls * poll_timeout > 60:
                    raise TimeoutError(f"no records from {plan.topic} for 60 s; still to read: {sorted(todo)}")
                batch: list[Record] = []
                for message in messages:
                    partition = message.partition()
                    error = message.error()
                    if partition not in todo:
                        continue
                    end = todo[partition].end
                    offset = message.offset()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            raise KafkaException(error)
                        # At the end of the partition: done when that end is past the plan's.
                        if offset is not None and offset >= end:
                            self._finish(plan.topic, todo, partition)
                        continue
                    if offset is None:
                        raise ValueError(f"a record of {plan.topic}[{partition}] without an offset")
                    if offset >= end:
                        self._finish(plan.topic, todo, partition)
                        continue
                    batch.append(
                        Record(
                            plan.topic,
                            partition,
                            offset,
                            int(message.timestamp()[1]),
                            message.key(),
                            message.value() or b"",
                            headers_of(message),
                        )
                    )
                    if offset >= end - 1:
                        self._finish(plan.topic, todo, partition)
                if batch:
                    yield batch
        finally:
            # librdkafka keeps a partition's pause across assignments: resume before letting go.
            self._consumer.resume([TopicPartition(plan.topic, p.partition) for p in plan.partitions if p.count > 0])
            self._consumer.unassign()

    def read_partitions(self, plan: TopicPlan, batch_size: int = 1000) -> dict[int, Iterator[Record]]:
        """One iterator per partition over a single consumer: each refills all of them when it runs dry.

        For :func:`.pacing.merge_by_time`, which needs each partition's next record to order them.
        """
        batches = self.read(plan, batch_size=batch_size)
        queues: dict[int, deque[Record]] = {p.partition: deque() for p in plan.partitions if p.count > 0}
        finished = False

        def refill() -> bool:
            nonlocal finished
            if finished:
                return False
            batch = next(batches, None)
            if batch is None:
                finished = True
                return False
            for record in batch:
                queues[record.partition].append(record)
            return True

        def partition_records(partition: int) -> Iterator[Record]:
            queue = queues[partition]
            while True:
                while not queue:
                    if not refill() and not queue:
                        return
                yield queue.popleft()

        return {partition: partition_records(partition) for partition in queues}

    def _finish(self, topic: str, todo: dict[int, PartitionPlan], partition: int) -> None:
        # Pausing stops its fetches; the whole assignment goes when the read ends.
        del todo[partition]
        self._consumer.pause([TopicPartition(topic, partition)])

    def close(self) -> None:
        # Reads left unfinished (a caller that stopped early) end first: they resume and unassign.
        for reading in self._readings:
            reading.close()
        self._readings.clear()
        self._consumer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
