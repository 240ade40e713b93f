"""Topic names in one place: the MQTT unified namespace, the Kafka topics, and the route between them.

MQTT topics follow ISA-95: ``shopfloor/v1/<enterprise>/<site>/<area>/<line>/<cell>/<kind>``. The cell
level is the machine (or, for birth and death, the edge node id). Only ``edge/`` speaks MQTT; the
bridge uses :func:`route` to pick the Kafka topic and key of every message it forwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Final

from pydantic import Field, NonNegativeInt

from shopfloor.events import (
    MES_EVENT_TYPES,
    EventBase,
    MachineCounterEvent,
    MachineProcessEvent,
    MachineStateEvent,
    Model,
    NodeBirthEvent,
    NodeDeathEvent,
    WoReleasedEvent,
    event_type,
)

MQTT_ROOT: Final = "shopfloor/v1"


class KafkaTopic(StrEnum):
    TELEMETRY = "shopfloor.telemetry"
    MES = "shopfloor.mes"
    ORDERS = "shopfloor.orders"
    BOTTLENECKS = "shopfloor.bottlenecks"
    SCHEDULE = "shopfloor.schedule"
    ALERTS = "shopfloor.alerts"
    DEADLETTER = "shopfloor.deadletter"


class MqttKind(StrEnum):
    """Last level of an MQTT topic: what kind of message travels there."""

    STATE = "state"
    COUNTER = "counter"
    PROCESS = "process"
    WO = "wo"
    BIRTH = "birth"
    DEATH = "death"


# Event types allowed on each MQTT kind; anything else on that topic is dead-lettered.
KIND_EVENT_TYPES: Final[dict[MqttKind, frozenset[str]]] = {
    MqttKind.STATE: frozenset({event_type(MachineStateEvent)}),
    MqttKind.COUNTER: frozenset({event_type(MachineCounterEvent)}),
    MqttKind.PROCESS: frozenset({event_type(MachineProcessEvent)}),
    MqttKind.WO: MES_EVENT_TYPES,
    MqttKind.BIRTH: frozenset({event_type(NodeBirthEvent)}),
    MqttKind.DEATH: frozenset({event_type(NodeDeathEvent)}),
}

# Kafka topic of every event type, by the prefix before the dot.
_TOPIC_BY_PREFIX: Final[dict[str, KafkaTopic]] = {
    "machine": KafkaTopic.TELEMETRY,
    "node": KafkaTopic.TELEMETRY,
    "wo": KafkaTopic.MES,
    "order": KafkaTopic.ORDERS,
    "bottleneck": KafkaTopic.BOTTLENECKS,
    "schedule": KafkaTopic.SCHEDULE,
    "alert": KafkaTopic.ALERTS,
}
# Work-order releases come from the order hub and are keyed by order, so they ride with the orders.
_TOPIC_BY_TYPE: Final[dict[str, KafkaTopic]] = {event_type(WoReleasedEvent): KafkaTopic.ORDERS}


class TopicError(ValueError):
    """An MQTT topic outside the namespace, or an event on a topic where it does not belong."""


@dataclass(frozen=True, slots=True)
class MqttAddress:
    """The levels of one MQTT topic in the unified namespace."""

    enterprise: str
    site: str
    area: str
    line: str
    cell: str
    kind: MqttKind

    @property
    def topic(self) -> str:
        return "/".join((MQTT_ROOT, self.enterprise, self.site, self.area, self.line, self.cell, self.kind))

    @property
    def node_prefix(self) -> str:
        """Prefix an edge node of this line publishes under (what its ACL allows)."""
        return "/".join((MQTT_ROOT, self.enterprise, self.site, self.area, self.line))


def mqtt_topic(enterprise: str, site: str, area: str, line: str, cell: str, kind: MqttKind) -> str:
    return MqttAddress(enterprise, site, area, line, cell, kind).topic


def line_prefix(enterprise: str, site: str, area: str, line: str) -> str:
    return "/".join((MQTT_ROOT, enterprise, site, area, line))


# Delivery confirmations (bridge -> edge node): outside MQTT_ROOT, so no bridge subscription takes them.
CONFIRM_ROOT: Final = "shopfloor/confirm/v1"


def confirm_topic(enterprise: str, site: str, area: str, line: str, source: str) -> str:
    """Where the bridge confirms to one edge node (``source``) which of its seqs Kafka has accepted.

    Under the line the node publishes on: the broker lets a node publish only under its own line, so a
    node cannot have confirmations sent to another line's nodes, and each line's account may read only
    its own line's confirmations (see ``shopfloor.stack.mqtt_accounts``). Payload: :class:`SeqConfirmation`.
    """
    return "/".join((CONFIRM_ROOT, enterprise, site, area, line, source))


class SeqConfirmation(Model):
    """Seqs of one source that Kafka accepted (as events or dead letters), as inclusive ``[first, last]`` ranges.

    Exact ranges rather than "everything up to N": with several bridges in a shared subscription each
    bridge sees only some of a node's messages, so no bridge knows a contiguous prefix, and the highest seq
    one bridge delivered says nothing of a lower seq another bridge still holds. Each bridge confirms what
    it delivered; the node deletes exactly those rows.
    """

    source: Annotated[str, Field(min_length=1, max_length=128)]
    ranges: Annotated[list[tuple[NonNegativeInt, NonNegativeInt]], Field(min_length=1, max_length=100_000)]
    bridge: Annotated[str, Field(max_length=128)] = ""


def subscription(enterprise: str = "+", site: str = "+") -> str:
    """MQTT filter for everything under an enterprise and site (wildcards by default)."""
    return f"{MQTT_ROOT}/{enterprise}/{site}/#"


def parse_mqtt_topic(topic: str) -> MqttAddress:
    parts = topic.split("/")
    root = MQTT_ROOT.split("/")
    if len(parts) != len(root) + 6 or parts[: len(root)] != root:
        raise TopicError(f"topic {topic!r} is not {MQTT_ROOT}/<enterprise>/<site>/<area>/<line>/<cell>/<kind>")
    levels = parts[len(root) :]
    if any(not level for level in levels):
        raise TopicError(f"topic {topic!r} has an empty level")
    try:
        kind = MqttKind(levels[5])
    except ValueError:
        raise TopicError(f"topic {topic!r} ends in unknown kind {levels[5]!r}") from None
    return MqttAddress(levels[0], levels[1], levels[2], levels[3], levels[4], kind)


def kafka_topic_for(event_type: str) -> KafkaTopic:
    topic = _TOPIC_BY_TYPE.get(event_type) or _TOPIC_BY_PREFIX.get(event_type.split(".", 1)[0])
    if topic is None:
        raise TopicError(f"no Kafka topic for event type {event_type!r}")
    return topic


@dataclass(frozen=True, slots=True)
class Route:
    topic: KafkaTopic
    key: str


def route(mqtt: str, event: EventBase) -> Route:
    """Kafka topic and key for an event that arrived on an MQTT topic.

    Raises :class:`TopicError` when the event's type does not belong on that topic kind, or when a
    machine event names a machine other than the topic's cell (a node publishing for another).
    """
    address = parse_mqtt_topic(mqtt)
    event_type = str(getattr(event, "type"))  # noqa: B009 - every concrete event has a type
    if event_type not in KIND_EVENT_TYPES[address.kind]:
        raise TopicError(f"event type {event_type!r} does not belong on a '{address.kind}' topic")
    if event.key_field in ("machine_id", "node_id") and event.key != address.cell:
        raise TopicError(f"{event.key_field} {event.key!r} does not match the topic's cell {address.cell!r}")
    return Route(kafka_topic_for(event_type), event.key)


def route_event(event: EventBase) -> Route:
    """Kafka topic and key for an event produced directly to Kafka (no MQTT hop)."""
    return Route(kafka_topic_for(str(getattr(event, "type"))), event.key)  # noqa: B009


def topic_name(topic: KafkaTopic, prefix: str = "") -> str:
    """The Kafka topic's name in a deployment whose settings give ``topic_prefix``."""
    return f"{prefix}{topic.value}"
