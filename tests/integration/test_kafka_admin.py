"""Topics are created under the settings' prefix, idempotently, with the configured retention."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import ConfigResource

from shopfloor.kafka.admin import ensure_topics, list_topics, make_admin
from shopfloor.settings import KafkaSettings
from shopfloor.topics import KafkaTopic, topic_name

pytestmark = pytest.mark.integration


def retention_ms(settings: KafkaSettings, topic: KafkaTopic) -> int:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic_name(topic, settings.topic_prefix))
    admin = make_admin(settings)  # kept referenced until the future resolves: its handle serves it
    configs = admin.describe_configs([resource])[resource].result(timeout=30)
    return int(configs["retention.ms"].value)


def test_every_topic_exists_under_the_prefix_with_the_configured_partitions(kafka_settings: KafkaSettings) -> None:
    topics = list_topics(kafka_settings)
    assert set(topics) == {topic_name(topic, kafka_settings.topic_prefix) for topic in KafkaTopic}
    assert set(topics.values()) == {kafka_settings.partitions}


def test_ensure_topics_again_is_harmless(kafka_settings: KafkaSettings) -> None:
    before = list_topics(kafka_settings)
    ensure_topics(kafka_settings)
    assert list_topics(kafka_settings) == before


def test_dead_letters_are_kept_longer_than_other_topics(kafka_settings: KafkaSettings) -> None:
    assert retention_ms(kafka_settings, KafkaTopic.TELEMETRY) == kafka_settings.retention_ms
    assert retention_ms(kafka_settings, KafkaTopic.DEADLETTER) == kafka_settings.deadletter_retention_ms
    assert kafka_settings.deadletter_retention_ms > kafka_settings.retention_ms
