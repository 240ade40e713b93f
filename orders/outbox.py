"""The transactional outbox of ``order.*`` and ``wo.released`` events.

An event is stored in ``order_outbox`` by the transaction that changes the order, so it exists exactly
when the change does. The publisher (:class:`Publisher`, a loop in the service) sends pending events to
``shopfloor.orders`` oldest first, the stored bytes as they are (same event_id on every attempt), and
marks them published only after Kafka acknowledged them. While Kafka is down events wait; a failed round
ends at the first failure so no event overtakes an earlier one of its order. The outbound webhook has its
own mark on the same rows, so an ERP follows the same events at its own pace.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
from confluent_kafka import KafkaError, Message, Producer

from orders.notify import Notifier
from shopfloor.auth import signed_headers
from shopfloor.db.pool import Connection
from shopfloor.events import EventBase
from shopfloor.kafka.producer import make_producer
from shopfloor.settings import KafkaSettings
from shopfloor.topics import KafkaTopic, topic_name

log = logging.getLogger(__name__)

SOURCE = "order-hub"


def record(conn: Connection, make: Callable[[int], EventBase], seq: int | None = None) -> EventBase:
    """Store the event ``make(seq)`` builds, inside the caller's transaction; ``seq`` is the outbox id
    (taken from the sequence unless the caller reserved one)."""
    if seq is None:
        row = conn.execute("SELECT nextval(pg_get_serial_sequence('order_outbox', 'id'))").fetchone()
        assert row is not None
        seq = int(row[0])
    event = make(seq)
    conn.execute(
        "INSERT INTO order_outbox (id, event_id, order_id, event_type, event) VALUES (%s, %s, %s, %s, %s)",
        (seq, event.event_id, event.key, str(getattr(event, "type")), event.to_json().decode()),  # noqa: B009
    )
    return event


@dataclass(frozen=True, slots=True)
class Pending:
    id: int
    order_id: str
    event: str


def _pending(conn: Connection, column: str, limit: int) -> list[Pending]:
    # Only these two columns exist; the name is never user input.
    rows = conn.execute(
        f"SELECT id, order_id, event FROM order_outbox WHERE {column} IS NULL ORDER BY id LIMIT %s",
        (limit,),
    ).fetchall()
    return [Pending(int(r[0]), r[1], r[2]) for r in rows]


class KafkaSink:
    """Sends a batch and waits until Kafka acknowledged each message (or the timeout gave up on it)."""

    def __init__(self, settings: KafkaSettings, timeout_s: float) -> None:
        self._topic = topic_name(KafkaTopic.ORDERS, settings.topic_prefix)
        self._timeout_s = timeout_s
        # The producer drops a message it could not deliver within the timeout, so a failed round never
        # delivers later behind our back (the next round sends it again, once).
        self._producer: Producer = make_producer(
            settings, **{"message.timeout.ms": int(timeout_s * 1000), "linger.ms": 2}
        )

    def send(self, batch: list[Pending]) -> list[int]:
        """The ids of ``batch`` Kafka acknowledged (all of them unless it failed)."""
        acked: dict[int, bool] = {}

        def done_for(item_id: int) -> Callable[[KafkaError | None, Message], None]:
            def done(error: KafkaError | None, message: Message) -> None:
                acked[item_id] = error is None
                if error is not None:
                    log.warning("order event %d not delivered: %s", item_id, error.str())

            return done

        for item in batch:
            event_type = json.loads(item.event)["type"]
            while True:
                try:
                    self._producer.produce(
                        self._topic,
                        value=item.event.encode(),
                        key=item.order_id.encode(),
                        headers=[("type", event_type.encode())],
                        on_delivery=done_for(item.id),
                    )
                    break
                except BufferError:
                    self._producer.poll(0.1)
        self._producer.flush(self._timeout_s + 5)
        # Every acknowledged event is marked, not only a prefix: one marked pending again would be sent
        # twice. The idempotent producer keeps a partition's order, so within one order the failures are a
        # suffix anyway.
        return [item.id for item in batch if acked.get(item.id)]

    def close(self) -> None:
        self._producer.flush(self._timeout_s)


class WebhookSink:
    """POSTs each event, signed (``X-Shopfloor-Signature`` over timestamp and body), to an ERP or finance."""

    def __init__(self, url: str, secret: bytes, timeout_s: float, now: Callable[[], float] = time.time) -> None:
        self._url = url
        self._secret = secret
        self._client = httpx.Client(timeout=timeout_s)
        self._now = now

    def send(self, batch: list[Pending]) -> list[int]:
        """The ids delivered, in order; the first failure ends the round (the receiver sees them in order)."""
        sent: list[int] = []
        for item in batch:
            body = item.event.encode()
            headers = {"Content-Type": "application/json", **signed_headers(self._secret, int(self._now()), body)}
            try:
                response = self._client.post(self._url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                log.warning("order webhook %s failed: %s", self._url, exc)
                break
            if response.status_code >= 300:
                log.warning("order webhook %s answered %d", self._url, response.status_code)
                break
            sent.append(item.id)
        return sent

    def close(self) -> None:
        self._client.close()


Sink = KafkaSink | WebhookSink


def publish_round(conn: Connection, sink: Sink, column: str, limit: int, at: Callable[[], datetime]) -> tuple[int, int]:
    """One round for one sink: (sent, pending that failed). ``conn`` is idle and not autocommit."""
    with conn.transaction():
        batch = _pending(conn, column, limit)
    if not batch:
        return 0, 0
    sent = sink.send(batch)
    attempt = "attempt" if column == "published_at" else "webhook_attempt"
    with conn.transaction():
        conn.execute(
            f"UPDATE order_outbox SET {attempt} = {attempt} + 1,"
            f" {column} = CASE WHEN id = ANY(%(sent)s) THEN %(at)s ELSE {column} END WHERE id = ANY(%(ids)s)",
            {"sent": sent, "at": at(), "ids": [b.id for b in batch]},
        )
    return len(sent), len(batch) - len(sent)


class Publisher:
    """The service's publisher loop: every ``interval_s``, Kafka first, then the webhook if there is one."""

    def __init__(
        self,
        connect: Callable[[], Connection],
        kafka: KafkaSink | None,
        webhook: WebhookSink | None,
        *,
        notifier: Notifier | None = None,
        interval_s: float,
        batch: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._connect = connect
        self._kafka = kafka
        self._webhook = webhook
        self._notifier = notifier
        self._interval_s = interval_s
        self._batch = batch
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="order-outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def run_once(self, conn: Connection) -> tuple[int, int]:
        """(sent, failed) over the sinks; a full batch sent means more may wait, so loop again at once."""
        sent = failed = 0
        for sink, column in ((self._kafka, "published_at"), (self._webhook, "webhook_at")):
            if sink is not None:
                s, f = publish_round(conn, sink, column, self._batch, self._clock)
                sent, failed = sent + s, failed + f
        if self._notifier is not None:
            s, f = self._notifier.round(conn, self._clock)
            sent, failed = sent + s, failed + f
        return sent, failed

    def _run(self) -> None:
        conn: Connection | None = None
        while not self._stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = self._connect()
                sent, failed = self.run_once(conn)
            except Exception:
                log.exception("order outbox round failed")
                if conn is not None:
                    conn.close()
                conn = None
                sent, failed = 0, 1
            if sent < self._batch or failed:
                self._stop.wait(self._interval_s)
        if conn is not None:
            conn.close()
        for sink in (self._kafka, self._webhook, self._notifier):
            if sink is not None:
                sink.close()
