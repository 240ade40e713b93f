"""``split_publish`` reads exactly what paho's own decoder reads, and declines everything else."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt import _packet
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.bridge.frames import Publish, split_publish

pytestmark = pytest.mark.unit


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def properties(content_type: str | None, user: list[tuple[str, str]]) -> bytes:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    if content_type is not None:
        props.ContentType = content_type
    if user:
        props.UserProperty = user
    return bytes(props.pack())  # type: ignore[no-untyped-call]


def publish_packet(topic: bytes, payload: bytes, qos: int, mid: int, props: bytes | None, flags: int = 0) -> bytes:
    """A PUBLISH as the broker sends it; ``props`` None for MQTT 3.1.1."""
    body = struct.pack("!H", len(topic)) + topic + (struct.pack("!H", mid) if qos else b"")
    body += (props if props is not None else b"") + payload
    return bytes([0x30 | qos << 1 | flags]) + varint(len(body)) + body


def paho_decode(packet: bytes, v5: bool) -> tuple[str, bytes, int, int]:
    """paho's reading of one whole packet: the reference."""
    length_end = 1
    while packet[length_end] & 0x80:
        length_end += 1
    protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
    decoded = _packet.decode_publish(packet[0], bytearray(packet[length_end + 1 :]), protocol)
    return decoded.topic.decode(), bytes(decoded.payload), decoded.mid, decoded.qos


# MQTT strings are UTF-8 without surrogates or U+0000 (MQTT 5, 1.5.4).
mqtt_text = st.characters(codec="utf-8", exclude_characters="\x00")
topics = st.text(mqtt_text, min_size=1, max_size=80).map(str.encode)
payloads = st.binary(max_size=400)
user_properties = st.lists(st.tuples(st.text(mqtt_text, max_size=10), st.text(mqtt_text, max_size=10)), max_size=3)


@given(
    topic=topics,
    payload=payloads,
    qos=st.sampled_from([0, 1]),
    mid=st.integers(1, 65535),
    content_type=st.none() | st.text(mqtt_text, max_size=20),
    user=user_properties,
    v5=st.booleans(),
    flags=st.sampled_from([0, 0x01, 0x08, 0x09]),  # retain, dup
)
def test_reads_what_paho_reads(
    topic: bytes,
    payload: bytes,
    qos: int,
    mid: int,
    content_type: str | None,
    user: list[tuple[str, str]],
    v5: bool,
    flags: int,
) -> None:
    props = properties(content_type, user) if v5 else None
    packet = publish_packet(topic, payload, qos, mid, props, flags)
    taken = split_publish(packet, 0, v5)
    assert taken is not None
    assert (taken.topic, taken.payload, taken.mid, taken.qos) == paho_decode(packet, v5)
    assert taken.end == len(packet)


@given(topic=topics, payload=payloads, v5=st.booleans(), data=st.data())
def test_an_incomplete_packet_is_left_for_later(topic: bytes, payload: bytes, v5: bool, data: st.DataObject) -> None:
    packet = publish_packet(topic, payload, 1, 7, b"\x00" if v5 else None)
    cut = data.draw(st.integers(0, len(packet) - 1))
    assert split_publish(packet[:cut], 0, v5) is None


def test_packets_follow_each_other_in_one_buffer() -> None:
    first = publish_packet(b"a/b", b"one", 1, 1, b"\x00")
    second = publish_packet(b"a/c", b"two" * 100, 0, 0, b"\x00")
    buffer = b"junk" + first + second
    one = split_publish(buffer, 4, True)
    assert one == Publish("a/b", b"one", 1, 1, 4 + len(first))
    two = split_publish(buffer, one.end, True)
    assert two == Publish("a/c", b"two" * 100, 0, 0, len(buffer))
    assert split_publish(buffer, two.end, True) is None


@pytest.mark.parametrize(
    ("packet", "why"),
    [
        (publish_packet(b"a/b", b"x", 2, 5, None), "QoS 2 takes paho's path (its PUBREC/PUBREL exchange)"),
        (b"\x40\x02\x00\x07", "a PUBACK"),
        (b"\x90\x03\x00\x01\x01", "a SUBACK"),
        (publish_packet(b"", b"x", 1, 5, b"\x00"), "an empty topic is a topic alias"),
        (publish_packet(b"\xff\xfe", b"x", 1, 5, None), "a topic that is not UTF-8"),
        (b"\x32\x03\x00\x05ab", "the topic runs past the packet"),
        (b"\x32\x05\x00\x01a\x00", "the packet id runs past the packet"),
        (b"\x32\x06\x00\x01a\x00\x01\x09", "the properties run past the packet"),
        (b"\x32\xff\xff\xff\xff\x01", "a remaining length over four bytes"),
        (b"", "an empty buffer"),
    ],
)
def test_declines_what_it_does_not_handle_in_full(packet: bytes, why: str) -> None:
    v5 = True
    assert split_publish(packet, 0, v5) is None, why
