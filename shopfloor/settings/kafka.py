"""Kafka client settings (``SHOPFLOOR_KAFKA_*``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shopfloor.settings._base import Settings, settings_config


class KafkaSettings(Settings):
    model_config = settings_config("kafka")

    bootstrap_servers: str = "127.0.0.1:19092"
    # Prepended to every topic name so a test or a second plant can have its own topics.
    topic_prefix: str = ""
    partitions: Annotated[int, Field(ge=1)] = 6
    replication_factor: Annotated[int, Field(ge=1)] = 1
    retention_ms: int = 7 * 24 * 3600 * 1000
    deadletter_retention_ms: int = 30 * 24 * 3600 * 1000
    client_id: str = "shopfloor"
