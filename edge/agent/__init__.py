"""The MQTT edge agent: store-and-forward publishing with birth and death messages."""

from edge.agent.agent import EdgeAgent, as_historical, mqtt_kind_of
from edge.buffer import QueueFullError

__all__ = ["EdgeAgent", "QueueFullError", "as_historical", "mqtt_kind_of"]
