"""What the simulator's pure core produces: timed emissions, and the nodes that send them.

An :class:`Emission` is one message to publish at simulated time ``at``: either a valid event or a
malformed message, with the trouble (if any) that made it. Events are stamped by a :class:`Stamper`
whose ids and per-node sequence numbers are deterministic, so one seed gives one stream, ids included.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from edge.sim.faults import MalformedMessage, cell_of, event_type, mqtt_kind_of
from shopfloor.events import EventBase, Model
from shopfloor.topics import MqttKind

E = TypeVar("E", bound=EventBase)


class Trouble(StrEnum):
    """Why an emission differs from what a healthy plant would send."""

    DUPLICATE = "duplicate"  # the same event (same event_id) a second time
    LATE = "late"  # delivered well after its event time
    OUT_OF_ORDER = "out_of_order"  # delivered after the node's next event
    MALFORMED = "malformed"  # a payload the bridge must dead-letter
    FLOOD = "flood"  # part of a burst from one machine


@dataclass(frozen=True, slots=True)
class SimNode:
    """One simulated edge node: one per line, publishing under ``<area>/<line>``."""

    node_id: str
    area: str
    line: str


@dataclass(frozen=True, slots=True)
class Emission:
    at: datetime
    node_id: str
    event: EventBase | None = None
    malformed: MalformedMessage | None = None
    trouble: Trouble | None = None

    @property
    def cell(self) -> str:
        if self.malformed is not None:
            return self.malformed.cell
        assert self.event is not None
        return cell_of(self.event)

    @property
    def mqtt_kind(self) -> MqttKind:
        if self.malformed is not None:
            return self.malformed.mqtt_kind
        assert self.event is not None
        return mqtt_kind_of(event_type(self.event))


class Stamper:
    """Makes envelopes: a deterministic event id and the next ``seq`` of the sending node."""

    def __init__(self, seed: int, seq_source: Callable[[str], int] | None = None) -> None:
        self._ids = random.Random(f"event-ids:{seed}")
        self._seq: dict[str, int] = {}
        # A live run takes seq from each node's edge agent, whose births spend seqs from the same counter.
        self._seq_source = seq_source

    def next_seq(self, node_id: str) -> int:
        if self._seq_source is not None:
            return self._seq_source(node_id)
        seq = self._seq.get(node_id, 0)
        self._seq[node_id] = seq + 1
        return seq

    def __call__(self, node_id: str, event_cls: type[E], payload: Model, ts: datetime) -> E:
        event_id = uuid.UUID(int=self._ids.getrandbits(128), version=4)
        envelope = {"event_id": event_id, "source": node_id, "seq": self.next_seq(node_id), "ts": ts}
        return event_cls.model_validate({**envelope, "payload": payload})
