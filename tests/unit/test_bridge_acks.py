"""PUBACKs: wire format, receive order, one queued packet per batch, stale acks of an old connection dropped;
and the Maximum Packet Size the bridge announces."""

from __future__ import annotations

import random
import struct

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.bridge.acks import AckBatcher, puback_packets
from edge.bridge.config import BridgeConfig, packet_size_mismatch
from shopfloor.stack.mosquitto import MAX_PACKET_SIZE

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


def test_pubacks_go_in_receive_order_whatever_order_kafka_confirms() -> None:
    client = _client()
    acks = AckBatcher(client)
    acks.new_connection()
    slots = {mid: acks.received(mid, 1) for mid in (5, 3, 9, 11)}
    # Kafka confirms 3 and 9 first (another partition, or a dead letter): nothing may go before 5.
    acks.done(slots[3])
    acks.done(slots[9])
    assert acks.send() == []
    acks.done(slots[5])
    assert [s.mid for s in acks.send()] == [5, 3, 9]
    assert acks.send() == []  # 11 not confirmed yet: nothing queued
    acks.done(slots[11])
    assert [s.mid for s in acks.send()] == [11]
    assert _queued_mids(client) == [[5, 3, 9], [11]]
    assert acks.sent == 4
    assert acks.waiting == 0


def test_interleaved_delivery_reports_keep_receive_order() -> None:
    rng = random.Random(18)
    client = _client()
    acks = AckBatcher(client)
    acks.new_connection()
    received = [rng.randrange(1, 65536) for _ in range(500)]
    slots = [acks.received(mid, 1) for mid in received]
    pending = list(slots)
    rng.shuffle(pending)
    while pending:  # delivery reports in random order and random batches, a send after each batch
        for _ in range(rng.randrange(1, 20)):
            if pending:
                acks.done(pending.pop())
        acks.send()
    assert [mid for batch in _queued_mids(client) for mid in batch] == received


def test_acks_of_an_earlier_connection_and_qos0_are_dropped() -> None:
    client = _client()
    acks = AckBatcher(client)
    acks.new_connection()
    old = acks.received(1, 1)
    acks.new_connection()  # reconnect: the broker re-sends message 1 and may reuse its id
    new = acks.received(7, 1)
    assert acks.received(0, 0) is None
    acks.done(old)
    acks.done(new)
    assert [s.mid for s in acks.send()] == [7]
    assert _queued_mids(client) == [[7]]


def test_the_bridge_announces_the_brokers_packet_size_and_says_when_the_broker_accepts_more() -> None:
    config = BridgeConfig(bridge_id="b")
    assert config.max_packet_bytes == MAX_PACKET_SIZE
    connack = Properties(PacketTypes.CONNACK)  # type: ignore[no-untyped-call]
    connack.MaximumPacketSize = MAX_PACKET_SIZE
    assert packet_size_mismatch(config, connack) is None
    connack.MaximumPacketSize = 4 * MAX_PACKET_SIZE
    assert "raise max_packet_bytes" in (packet_size_mismatch(config, connack) or "")
    assert "no Maximum Packet Size" in (packet_size_mismatch(config, Properties(PacketTypes.CONNACK)) or "")  # type: ignore[no-untyped-call]
    assert packet_size_mismatch(config, None) is not None
