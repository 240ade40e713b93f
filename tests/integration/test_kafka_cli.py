"""``shopfloor topics create|list`` under a prefix of the test's own."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from shopfloor.kafka.admin import delete_topics
from shopfloor.kafka.cli import app
from shopfloor.topics import KafkaTopic, topic_name
from tests.fixtures.stack import StackEndpoints, unique_name

pytestmark = pytest.mark.integration


def test_create_then_list(stack: StackEndpoints) -> None:
    settings = stack.kafka.model_copy(update={"topic_prefix": unique_name("cli") + ".", "partitions": 2})
    env = {
        "SHOPFLOOR_KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "SHOPFLOOR_KAFKA_TOPIC_PREFIX": settings.topic_prefix,
        "SHOPFLOOR_KAFKA_PARTITIONS": "2",
    }
    runner = CliRunner()
    try:
        created = runner.invoke(app, ["create"], env=env)
        assert created.exit_code == 0, created.output
        listed = runner.invoke(app, ["list"], env=env)
        assert listed.exit_code == 0, listed.output
        for topic in KafkaTopic:
            assert topic_name(topic, settings.topic_prefix) in listed.output
    finally:
        delete_topics(settings)
