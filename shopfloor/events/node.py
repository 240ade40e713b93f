"""Edge node lifecycle: birth (retained) and death (the MQTT will) per edge node."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from shopfloor.events._base import Count, EventBase, Ident, Model


class NodeKind(StrEnum):
    PLC_GATEWAY = "plc_gateway"
    SCAN_AGENT = "scan_agent"
    SIMULATOR = "simulator"


class NodeBirthPayload(Model):
    node_id: Ident
    kind: NodeKind
    # The first seq this incarnation will use: consumers reset their gap detection here.
    seq_start: Count
    topic_prefix: Annotated[str, Field(max_length=256)]
    metrics: dict[str, float] = Field(default_factory=dict)


class NodeDeathPayload(Model):
    node_id: Ident
    reason: Annotated[str, Field(max_length=128)] = "connection lost"


class NodeBirthEvent(EventBase):
    key_field: ClassVar[str] = "node_id"
    type: Literal["node.birth"] = "node.birth"
    payload: NodeBirthPayload


class NodeDeathEvent(EventBase):
    key_field: ClassVar[str] = "node_id"
    type: Literal["node.death"] = "node.death"
    payload: NodeDeathPayload
