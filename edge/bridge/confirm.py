"""Delivery confirmations to edge nodes: which seqs of theirs Kafka has accepted, so they may forget them.

An edge node keeps each message in its outbox until a confirmation names its seq (the broker's PUBACK
only says the broker has it, and a broker killed before it saved its state loses it). The bridge
confirms a message when its PUBACK goes, i.e. once Kafka has it (event or dead letter) and every
message received before it too. Confirmations go QoS 0 at most every ``every_s`` per bridge, grouped
per node as exact seq ranges (see :class:`shopfloor.topics.SeqConfirmation` for why not "up to N"):
a lost confirmation only makes the node re-send, and consumers drop repeats by ``event_id``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Final, cast

import paho.mqtt.client as mqtt

from edge.bridge.acks import AckSlot
from shopfloor.topics import SeqConfirmation, TopicError, confirm_topic, parse_mqtt_topic

CONFIRM_EVERY_S: Final = 0.05
_MAX_TOPICS: Final = 65536

ConfirmTag = tuple[str, str, int]
"""(confirmation topic, source, seq) of a message; the tag of its ack slot."""

_TOPICS: dict[tuple[str, str], str | None] = {}


def confirm_tag(mqtt_topic: str, source: str, seq: int) -> ConfirmTag | None:
    """The tag of a message of ``source`` with ``seq`` that came on ``mqtt_topic`` (None: not from a node)."""
    key = (mqtt_topic, source)
    topic = _TOPICS.get(key, "")
    if topic == "":
        try:
            address = parse_mqtt_topic(mqtt_topic)
            topic = confirm_topic(address.enterprise, address.site, address.area, address.line, source)
        except TopicError:
            topic = None
        if "/" in source or "+" in source or "#" in source:
            topic = None  # not a topic level: cannot be an edge node's id
        if len(_TOPICS) >= _MAX_TOPICS:
            _TOPICS.clear()
        _TOPICS[key] = topic
    return None if topic is None else (topic, source, seq)


def rejected_tag(mqtt_topic: str, payload: bytes) -> ConfirmTag | None:
    """The tag of a dead-lettered message, when it still names a source and a seq (rare path: plain json)."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    source, seq = data.get("source"), data.get("seq")
    if not isinstance(source, str) or not source or type(seq) is not int or seq < 0:
        return None
    return confirm_tag(mqtt_topic, source, seq)


def seq_ranges(seqs: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted, merged inclusive ranges covering ``seqs``."""
    ranges: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return ranges


class Confirmer:
    """Collects the seqs whose PUBACKs went; publishes them per node. Runs on the delivery-serving thread."""

    def __init__(self, client: mqtt.Client, bridge_id: str, every_s: float = CONFIRM_EVERY_S) -> None:
        self._client = client
        self._bridge_id = bridge_id
        self._every_s = every_s
        self._pending: dict[tuple[str, str], list[int]] = {}
        self._last = 0.0
        self.published = 0  # confirmation messages sent (for tests and metrics)

    def add(self, slots: Iterable[AckSlot]) -> None:
        for slot in slots:
            tag = slot.tag
            if tag is not None:
                topic, source, seq = cast(ConfirmTag, tag)
                self._pending.setdefault((topic, source), []).append(seq)

    def publish_due(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self._pending or (not force and now - self._last < self._every_s):
            return
        self._last = now
        pending, self._pending = self._pending, {}
        for (topic, source), seqs in pending.items():
            message = SeqConfirmation(source=source, ranges=seq_ranges(seqs), bridge=self._bridge_id)
            self._client.publish(topic, message.model_dump_json(), qos=0)
            self.published += 1
