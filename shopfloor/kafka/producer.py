"""An idempotent Kafka producer for events, routed by :func:`shopfloor.topics.route_event`.

Delivery failures are never silent: without a caller's callback, a failed delivery raises
:class:`DeliveryError` out of the ``poll()`` / ``flush()`` that reports it, and :func:`flush` raises
when messages are still undelivered at its timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from shopfloor.events import EventBase
from shopfloor.headers import event_headers
from shopfloor.settings import KafkaSettings
from shopfloor.topics import route_event, topic_name

DeliveryCallback = Callable[[KafkaError | None, Message], None]

# Idempotence + acks=all: retries never duplicate or reorder a partition's messages. A few ms of linger
# lets bursts (a gateway replaying its buffer) go out in large lz4-compressed batches.
PRODUCER_DEFAULTS: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 5,
    "batch.num.messages": 10_000,
    "compression.type": "lz4",
}


class DeliveryError(RuntimeError):
    """Kafka did not take a message: the broker refused it or it timed out in the producer."""

    def __init__(self, topic: str | None, key: bytes | None, error: KafkaError) -> None:
        self.topic = topic
        self.key = key
        self.error = error
        where = f" to {topic} (key {key!r})" if topic is not None else ""
        super().__init__(f"delivery{where} failed: {error.str()}")


def make_producer(settings: KafkaSettings, **overrides: Any) -> Producer:
    """A producer with the defaults above; ``overrides`` are client config keys, replacing the defaults
    (dotted librdkafka names need a dict: ``make_producer(settings, **{"linger.ms": 50})``)."""
    config = {
        "bootstrap.servers": settings.bootstrap_servers,
        "client.id": settings.client_id,
        **PRODUCER_DEFAULTS,
        **overrides,
    }
    return Producer(config)


def raise_on_error(error: KafkaError | None, message: Message) -> None:
    """Default delivery callback: a failed delivery becomes an exception in poll()/flush()."""
    if error is not None:
        raise DeliveryError(message.topic(), message.key(), error)


def produce_event(
    producer: Producer,
    event: EventBase,
    settings: KafkaSettings,
    on_delivery: DeliveryCallback | None = None,
) -> None:
    """Queue one event on its topic, keyed so each machine's / order's events stay in order.

    When the local queue is full, serve delivery reports until there is room (backpressure instead of
    an error). Call ``producer.poll(0)`` regularly and :func:`flush` before shutting down.
    """
    route = route_event(event)
    topic = topic_name(route.topic, settings.topic_prefix)
    value = event.to_json()
    callback = on_delivery or raise_on_error
    while True:
        try:
            producer.produce(
                topic,
                value=value,
                key=route.key.encode(),
                headers=event_headers(event),
                on_delivery=callback,
            )
            break
        except BufferError:
            producer.poll(0.1)
    producer.poll(0)


def flush(producer: Producer, timeout: float = 30.0) -> None:
    """Wait for every queued message to be delivered; raise if some are still pending at the timeout."""
    remaining = producer.flush(timeout)
    if remaining:
        raise DeliveryError(None, None, KafkaError(KafkaError._MSG_TIMED_OUT, f"{remaining} messages still queued"))
