"""Create, list and delete the platform's Kafka topics.

Names always go through :func:`shopfloor.topics.topic_name` so a ``topic_prefix`` (a test, a second
plant) gets topics of its own. Creation is idempotent: a topic that already exists is fine.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic  # the class confluent_kafka.admin re-exports without __all__

from shopfloor.settings import KafkaSettings
from shopfloor.topics import KafkaTopic, topic_name

# Broker-side timeouts for admin requests, in seconds.
_ADMIN_TIMEOUT_S = 30.0


def make_admin(settings: KafkaSettings) -> AdminClient:
    return AdminClient({"bootstrap.servers": settings.bootstrap_servers, "client.id": f"{settings.client_id}-admin"})


def topic_config(settings: KafkaSettings, topic: KafkaTopic) -> dict[str, str]:
    """Per-topic config: dead letters are kept longer so someone has time to look at them."""
    retention = settings.deadletter_retention_ms if topic is KafkaTopic.DEADLETTER else settings.retention_ms
    return {"retention.ms": str(retention), "cleanup.policy": "delete"}


def ensure_topics(settings: KafkaSettings, topics: Iterable[KafkaTopic] = tuple(KafkaTopic)) -> None:
    """Create the topics that are missing; existing ones are left as they are."""
    wanted = {topic_name(topic, settings.topic_prefix): topic for topic in topics}
    if not wanted:
        return
    admin = make_admin(settings)
    existing = set(admin.list_topics(timeout=_ADMIN_TIMEOUT_S).topics)
    new_topics = [
        NewTopic(
            name,
            num_partitions=settings.partitions,
            replication_factor=settings.replication_factor,
            config=topic_config(settings, topic),
        )
        for name, topic in wanted.items()
        if name not in existing
    ]
    if not new_topics:
        return
    futures = admin.create_topics(new_topics, operation_timeout=_ADMIN_TIMEOUT_S, request_timeout=_ADMIN_TIMEOUT_S)
    for name, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            # Another process may have created it between our listing and our request.
            if error.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise RuntimeError(f"could not create Kafka topic {name!r}: {error.str()}") from exc
    _wait_until_visible(admin, set(wanted))


def _wait_until_visible(admin: AdminClient, names: set[str]) -> None:
    """Creation is acknowledged by the controller before every broker serves the topic: wait until the
    metadata shows all of them, so a caller's describe/produce right after does not see 'unknown topic'."""
    deadline = time.monotonic() + _ADMIN_TIMEOUT_S
    while True:
        topics = admin.list_topics(timeout=_ADMIN_TIMEOUT_S).topics
        if all(name in topics and topics[name].error is None and topics[name].partitions for name in names):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kafka topics not visible after {_ADMIN_TIMEOUT_S}s: {sorted(names - set(topics))}")
        time.sleep(0.1)


def list_topics(settings: KafkaSettings) -> dict[str, int]:
    """Topic name -> partition count, for the topics under the settings' prefix."""
    admin = make_admin(settings)
    metadata = admin.list_topics(timeout=_ADMIN_TIMEOUT_S)
    names = {topic_name(topic, settings.topic_prefix) for topic in KafkaTopic}
    return {name: len(meta.partitions) for name, meta in sorted(metadata.topics.items()) if name in names}


def delete_topics(settings: KafkaSettings, topics: Iterable[KafkaTopic] = tuple(KafkaTopic)) -> None:
    """Delete the topics under the settings' prefix (tests clean up with this); missing ones are fine."""
    names = [topic_name(topic, settings.topic_prefix) for topic in topics]
    if not names:
        return
    admin = make_admin(settings)
    futures = admin.delete_topics(names, operation_timeout=_ADMIN_TIMEOUT_S, request_timeout=_ADMIN_TIMEOUT_S)
    for name, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise RuntimeError(f"could not delete Kafka topic {name!r}: {error.str()}") from exc
