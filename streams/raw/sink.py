"""The raw sink: ``shopfloor.telemetry`` and ``shopfloor.mes`` into the raw tables and machine_current_state.

Per poll: parse the batch; send what does not parse to the dead-letter topic; write the valid events
(raw rows, idempotent on event_id, and the current machine states) in one transaction; wait for the
dead letters to be delivered; only then commit the Kafka offsets. A crash anywhere redelivers the batch
to the group, and the writes skip what is already there. Several processes in the same consumer group
share the partitions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import Message, Producer

from shopfloor.db.pool import Connection
from shopfloor.db.raw import write_raw_events
from shopfloor.deadletter import DeadLetter
from shopfloor.events import EventBase, EventError, parse_event
from shopfloor.kafka.consumer import BatchConsumer
from shopfloor.kafka.producer import flush, make_producer, raise_on_error
from shopfloor.settings import KafkaSettings
from shopfloor.topics import KafkaTopic, topic_name
from streams.metrics import ROWS_WRITTEN
from streams.raw.current_state import state_updates, write_current_state
from streams.settings import StreamsSettings

log = logging.getLogger(__name__)

PROCESSOR = "raw"
TOPICS = (KafkaTopic.TELEMETRY, KafkaTopic.MES)
MAX_ORIGINAL_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class BatchResult:
    messages: int
    events: int
    rows: int
    states: int
    dead_letters: int


def parse_messages(messages: Sequence[Message], rejected_by: str) -> tuple[list[EventBase], list[DeadLetter]]:
    """Valid events of the batch, and a dead-letter record for every message that is not one."""
    events: list[EventBase] = []
    rejects: list[DeadLetter] = []
    now = datetime.now(UTC)
    for message in messages:
        value = message.value() or b""
        try:
            events.append(parse_event(value))
        except EventError as exc:
            rejects.append(
                DeadLetter(
                    original=value[:MAX_ORIGINAL_BYTES],
                    source_topic=(message.topic() or "")[:1024],
                    reason_kind=exc.kind.value,
                    field=exc.field[:256],
                    reason=exc.reason[:2048],
                    ts=now,
                    rejected_by=rejected_by[:128],
                )
            )
    return events, rejects


def write_batch(conn: Connection, events: Sequence[EventBase]) -> tuple[int, int]:
    """Raw rows and current states of a batch in one transaction, committed; (rows, states) written."""
    with conn.transaction():
        rows = write_raw_events(conn, events)
        states = write_current_state(conn, state_updates(events))
    return rows, states


class RawSink:
    """One member of the raw sink's consumer group: poll, write, dead-letter, commit; until stopped."""

    def __init__(
        self,
        conn: Connection,
        kafka: KafkaSettings,
        settings: StreamsSettings,
        *,
        producer: Producer | None = None,
    ) -> None:
        self.conn = conn
        self.kafka = kafka
        self.settings = settings
        self.consumer = BatchConsumer(kafka, settings.raw_group_id, TOPICS)
        self.producer = producer or make_producer(kafka)
        self.deadletter_topic = topic_name(KafkaTopic.DEADLETTER, kafka.topic_prefix)
        self.rejected_by = f"streams.raw/{kafka.client_id}"

    def process(self, messages: Sequence[Message]) -> BatchResult:
        """Make one polled batch durable, then commit its offsets."""
        events, rejects = parse_messages(messages, self.rejected_by)
        for record in rejects:
            self.producer.produce(
                self.deadletter_topic,
                value=record.to_json(),
                headers=[("reason", record.reason_kind.encode())],
                on_delivery=raise_on_error,
            )
        rows, states = write_batch(self.conn, events) if events else (0, 0)
        if rejects:
            flush(self.producer)
        self.consumer.commit(messages)
        if rows:
            ROWS_WRITTEN.labels(processor=PROCESSOR, table="raw").inc(rows)
        return BatchResult(len(messages), len(events), rows, states, len(rejects))

    def run(self, stop: threading.Event) -> int:
        """Poll and process batches until ``stop`` is set; returns the messages processed."""
        total = 0
        try:
            while not stop.is_set():
                batch = self.consumer.poll_batch(self.settings.raw_batch_max, self.settings.raw_poll_timeout_s)
                if batch:
                    total += self.process(batch).messages
                else:
                    self.producer.poll(0)
        finally:
            self.close()
        return total

    def close(self) -> None:
        self.consumer.close()
        flush(self.producer)


def run_until(sink: RawSink, seconds: float) -> int:
    """Run a sink for a while (benchmarks, tests) and return the messages it processed."""
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    started = time.monotonic()
    try:
        return sink.run(stop)
    finally:
        timer.cancel()
        log.debug("raw sink ran %.1f s", time.monotonic() - started)
