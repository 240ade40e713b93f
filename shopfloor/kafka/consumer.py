"""An at-least-once Kafka consumer: offsets are committed only after the caller's work is durable.

Auto-commit and the automatic offset store are off. The caller polls a batch, makes its effect durable
(e.g. one database transaction, idempotent by event_id), then calls :meth:`BatchConsumer.commit` with
that batch. A process that dies in between has its batch delivered again to the group's next
consumer, which is why every writer must be idempotent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any, Self

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from shopfloor.settings import KafkaSettings
from shopfloor.topics import KafkaTopic, topic_name

log = logging.getLogger(__name__)

# Commit errors a broker restart or a coordinator move causes for a while (a restarted single-node KRaft
# broker answers COORDINATOR_LOAD_IN_PROGRESS for about 15 s): retried, not fatal to the processor.
_TRANSIENT_COMMIT_ERRORS = frozenset(
    {
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.NOT_COORDINATOR,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._WAIT_COORD,
    }
)


def transient_commit_error(exc: KafkaException) -> bool:
    error = exc.args[0] if exc.args else None
    return isinstance(error, KafkaError) and (error.retriable() or error.code() in _TRANSIENT_COMMIT_ERRORS)


CONSUMER_DEFAULTS: dict[str, Any] = {
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "auto.offset.reset": "earliest",
}


def next_offsets(batch: Iterable[Message]) -> list[TopicPartition]:
    """The offsets to commit after a batch: one past the highest offset seen per partition."""
    highest: dict[tuple[str, int], int] = {}
    for message in batch:
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        if topic is None or partition is None or offset is None:
            raise ValueError("cannot commit after a message without topic, partition and offset")
        highest[(topic, partition)] = max(highest.get((topic, partition), -1), offset)
    return [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in sorted(highest.items())]


class BatchConsumer:
    """Consume platform topics in batches for a consumer group; commit explicitly after durable work."""

    def __init__(self, settings: KafkaSettings, group_id: str, topics: Iterable[KafkaTopic], **overrides: Any) -> None:
        config = {
            "bootstrap.servers": settings.bootstrap_servers,
            "client.id": settings.client_id,
            "group.id": group_id,
            **CONSUMER_DEFAULTS,
            **overrides,
        }
        self._consumer = Consumer(config)
        self.topics = [topic_name(topic, settings.topic_prefix) for topic in topics]
        self._consumer.subscribe(self.topics)
        self._closed = False

    def poll_batch(self, max_messages: int = 500, timeout: float = 1.0) -> list[Message]:
        """Up to ``max_messages`` messages, waiting at most ``timeout`` seconds; raises on consumer errors."""
        messages = self._consumer.consume(num_messages=max_messages, timeout=timeout)
        batch: list[Message] = []
        for message in messages:
            error = message.error()
            if error is None:
                batch.append(message)
            elif error.code() != KafkaError._PARTITION_EOF:
                raise KafkaException(error)
        return batch

    def commit(self, batch: Sequence[Message], *, retry_for_s: float = 60.0) -> None:
        """Commit, synchronously, the offsets after ``batch``; call only once its effect is durable.

        Transient errors (the group coordinator loading or moving, e.g. while a broker restarts) are
        retried with a growing pause for up to ``retry_for_s``. Raises :class:`KafkaException` when the
        commit fails otherwise (e.g. the partitions were reassigned in a rebalance) or for longer: the
        batch will then be delivered again, harmlessly since writers are idempotent.
        """
        offsets = next_offsets(batch)
        if not offsets:
            return
        deadline = time.monotonic() + retry_for_s
        pause = 0.2
        while True:
            try:
                self._consumer.commit(offsets=offsets, asynchronous=False)
                return
            except KafkaException as exc:
                if not transient_commit_error(exc) or time.monotonic() + pause > deadline:
                    raise
                log.warning("offset commit failed (%s); retrying in %.1f s", exc, pause)
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    def close(self) -> None:
        """Leave the group without committing anything."""
        if not self._closed:
            self._closed = True
            self._consumer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
