"""MQTT acknowledgements in receive order, batched: one socket write for all the PUBACKs a Kafka poll released.

MQTT requires PUBACKs in the order the PUBLISH packets were received (MQTT 5, MQTT-4.6.0-2; 3.1.1,
4.6.0-2 too). Kafka confirms in its own order (per partition, and dead letters go to another topic), so
every QoS 1 message takes a slot in receive order when it arrives (:meth:`AckBatcher.received`), its
delivery callback marks the slot done (:meth:`AckBatcher.done`), and :meth:`AckBatcher.send` writes the
PUBACKs of the done slots at the head, stopping at the first one Kafka has not confirmed yet.

paho's ``Client.ack`` queues one packet and wakes the network thread for every message: a socket-pair
write, a select wake-up and a 4-byte ``send`` each, which was most of the bridge's CPU at a few thousand
messages a second. A QoS 1 PUBACK with reason Success and no properties is a fixed 4-byte packet in MQTT
3.1.1 and 5 alike (MQTT 5, 3.4.2.1: reason code and properties may be omitted when the reason is Success),
so a batch is their concatenation, queued on paho's outgoing queue as one packet and written in order with
everything else paho sends.

An ack belongs to one connection: after a reconnect the broker re-sends what was not acknowledged and may
reuse packet ids, so a stale ack could acknowledge a different, undelivered message. A new connection
starts a new slot queue; slots of the old one are never written (their messages come back and take new
slots), and paho clears its outgoing queue on reconnect.
"""

from __future__ import annotations

import struct
import threading
from collections import deque
from collections.abc import Iterable
from typing import Final

import paho.mqtt.client as mqtt

PUBACK: Final = 0x40
_PUBACK = struct.Struct("!BBH")


def puback_packets(mids: Iterable[int]) -> bytes:
    """Concatenated PUBACK packets (fixed header 0x40, remaining length 2, packet id)."""
    return b"".join([_PUBACK.pack(PUBACK, 2, mid) for mid in mids])


class AckSlot:
    """One received QoS 1 message's place in the acknowledgement order; ``tag`` is the owner's (see bridge)."""

    __slots__ = ("done", "mid", "tag")

    def __init__(self, mid: int, tag: object) -> None:
        self.mid = mid
        self.tag = tag
        self.done = False


class AckBatcher:
    """PUBACKs in receive order; :meth:`send` queues the releasable ones on the MQTT client as one packet.

    ``received`` and ``new_connection`` run on paho's network thread; ``done`` and ``send`` on the thread
    that serves delivery callbacks (the MQTT thread, the poll thread, or the stopping thread in the final
    flush). ``deque`` appends and pops are atomic; replacing the queue and draining it take the lock.
    """

    def __init__(self, client: mqtt.Client) -> None:
        self._client = client
        self._order: deque[AckSlot] = deque()
        self._lock = threading.Lock()
        self.sent = 0  # acks written to the broker (for metrics and tests)

    def new_connection(self) -> None:
        with self._lock:
            self._order = deque()

    def received(self, mid: int, qos: int, tag: object = None) -> AckSlot | None:
        """Take the next place in the ack order for a message just read (None for QoS 0: no ack)."""
        if qos != 1:  # the subscription grants at most QoS 1
            return None
        slot = AckSlot(mid, tag)
        self._order.append(slot)
        return slot

    @staticmethod
    def done(slot: AckSlot | None) -> None:
        """Kafka has the message (or its dead letter): its PUBACK may go once all earlier ones have."""
        if slot is not None:
            slot.done = True

    def send(self) -> list[AckSlot]:
        """Queue the PUBACKs that may go now as one packet; returns their slots, in receive order."""
        with self._lock:
            order = self._order
            released = []
            while order and order[0].done:
                released.append(order.popleft())
            if released:
                # paho has no public call for a batch; _packet_queue is what its own ack() uses.
                self._client._packet_queue(PUBACK, puback_packets([s.mid for s in released]), 0, 0)
        self.sent += len(released)
        return released

    @property
    def waiting(self) -> int:
        """Messages received on this connection whose PUBACK has not gone yet."""
        return len(self._order)
