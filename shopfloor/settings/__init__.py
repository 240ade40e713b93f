"""Settings, one small module per concern, all read from ``SHOPFLOOR_<CONCERN>_*`` variables."""

from shopfloor.settings._base import PROJECT_ROOT
from shopfloor.settings.events import EventSettings
from shopfloor.settings.kafka import KafkaSettings
from shopfloor.settings.mqtt import MqttSettings
from shopfloor.settings.postgres import PostgresSettings
from shopfloor.settings.stack import StackSettings

__all__ = ["PROJECT_ROOT", "EventSettings", "KafkaSettings", "MqttSettings", "PostgresSettings", "StackSettings"]
