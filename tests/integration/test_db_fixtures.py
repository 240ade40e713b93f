"""The shared fixtures give each test its own migrated schema and its own Kafka topics."""

from __future__ import annotations

import pytest

from shopfloor.db.pool import Connection
from shopfloor.kafka.admin import list_topics
from shopfloor.settings import KafkaSettings, PostgresSettings
from shopfloor.topics import KafkaTopic, topic_name

pytestmark = pytest.mark.integration


def test_db_conn_is_on_the_test_schema_with_migrations_applied(
    db_conn: Connection, pg_settings: PostgresSettings
) -> None:
    schema = db_conn.execute("SELECT current_schema()").fetchone()
    assert schema == (pg_settings.db_schema,)
    versions = [row[0] for row in db_conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions[:4] == [1, 2, 3, 4]


def test_kafka_settings_has_every_topic_under_its_prefix(kafka_settings: KafkaSettings) -> None:
    topics = list_topics(kafka_settings)
    assert set(topics) == {topic_name(topic, kafka_settings.topic_prefix) for topic in KafkaTopic}
    assert set(topics.values()) == {kafka_settings.partitions}
