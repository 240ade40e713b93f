"""Cutting QoS 0/1 PUBLISH packets straight out of the bridge's read-ahead buffer.

paho turns every PUBLISH into an ``MQTTMessage`` with a ``threading.Condition`` inside, runs its topic
matcher, takes two locks and, in MQTT 5, builds a ``Properties`` object by pure-Python parsing: about
30 µs per message, more than the bridge's own parsing, routing and producing together. The bridge reads
only the topic, payload, packet id and QoS, so :func:`split_publish` takes just those, and returns None
for anything it does not handle in full, which then takes paho's path unchanged:

- another packet type, QoS 2, or a packet not yet wholly in the buffer;
- an empty topic (an MQTT 5 topic alias: the bridge never allows aliases, but paho would say so) or a
  topic that is not UTF-8 (paho reports it);
- a packet whose lengths do not add up (paho reports the protocol error and drops the connection).

MQTT 5 properties of a PUBLISH (user properties, content type...) are skipped: the event's JSON is the
contract, and the bridge forwards the payload's bytes untouched.
"""

from __future__ import annotations

from typing import Final, NamedTuple

PUBLISH: Final = 0x30
_MAX_VARINT_BYTES: Final = 4


class Publish(NamedTuple):
    topic: str
    payload: bytes
    mid: int  # 0 for QoS 0
    qos: int
    end: int  # offset just past the packet in the buffer


def _varint(data: bytes, pos: int, limit: int) -> tuple[int, int] | None:
    """MQTT variable byte integer at ``pos`` (value, offset after it), or None if cut off or too long."""
    value, shift = 0, 0
    for index in range(pos, min(pos + _MAX_VARINT_BYTES, limit)):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, index + 1
        shift += 7
    return None


def split_publish(data: bytes, pos: int, v5: bool) -> Publish | None:
    """The QoS 0/1 PUBLISH packet starting at ``data[pos]`` if it is complete and well formed, else None."""
    size = len(data)
    if pos >= size:
        return None
    header = data[pos]
    qos = (header >> 1) & 0x03
    if header & 0xF0 != PUBLISH or qos > 1:
        return None
    remaining = _varint(data, pos + 1, size)
    if remaining is None:
        return None
    length, start = remaining
    end = start + length
    if end > size or length < 2:
        return None
    topic_end = start + 2 + (data[start] << 8 | data[start + 1])
    body = topic_end + 2 if qos else topic_end
    if topic_end == start + 2 or body > end:
        return None
    mid = data[topic_end] << 8 | data[topic_end + 1] if qos else 0
    if v5:
        properties = _varint(data, body, end)
        if properties is None:
            return None
        properties_length, body = properties
        body += properties_length
        if body > end:
            return None
    try:
        topic = data[start + 2 : topic_end].decode()
    except UnicodeDecodeError:
        return None
    return Publish(topic, data[body:end], mid, qos, end)
