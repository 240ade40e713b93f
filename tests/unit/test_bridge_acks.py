"""Batched PUBACKs: wire format, one queued packet per batch, and stale acks of an old connection dropped."""

from __future__ import annotations

import struct

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.bridge.acks import AckBatcher, puback_packets

pytestmark = pytest.mark.unit


def _client() -> mqtt.Client:
    # Never connected: queued packets stay in paho's outgoing queue, where the test can read them.
    return mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5, manual_ack=True)


def _queued_mids(client: mqtt.Client) -> list[list[int]]:
    """Packet ids of the PUBACKs in each queued packet (paho's private queue: the contract acks.py uses)."""
    batches = []
    for packet in client._out_packet:
        raw = bytes(packet["packet"])
        assert packet["command"] == 0x40
        batches.append([struct.unpack("!BBH", raw[i : i + 4])[2] for i in range(0, len(raw), 4)])
        assert all(raw[i : i + 2] == b"\x40\x02" for i in range(0, len(raw), 4))
    return batches


def test_puback_packets_are_fixed_four_byte_packets() -> None:
    assert puback_packets([1, 258, 65535]) == b"\x40\x02\x00\x01" + b"\x40\x02\x01\x02" + b"\x40\x02\xff\xff"
    assert puback_packets([]) == b""


def test_one_packet_per_batch_in_delivery_order() -> None:
    client = _client()
    acks = AckBatcher(client)
    acks.new_connection()
    for mid in (5, 3, 9):
        acks.add(acks.generation, mid, 1)
    assert acks.send() == 3
    acks.add(acks.generation, 11, 1)
    assert acks.send() == 1
    assert acks.send() == 0  # nothing pending: nothing queued
    assert _queued_mids(client) == [[5, 3, 9], [11]]
    assert acks.sent == 4


def test_acks_of_an_earlier_connection_and_qos0_are_dropped() -> None:
    client = _client()
    acks = AckBatcher(client)
    acks.new_connection()
    old = acks.generation
    acks.add(old, 1, 1)
    acks.new_connection()  # reconnect: the broker re-sends message 1 and may reuse its id
    acks.add(old, 2, 1)
    acks.add(acks.generation, 7, 1)
    acks.add(acks.generation, 0, 0)
    assert acks.send() == 1
    assert _queued_mids(client) == [[7]]
