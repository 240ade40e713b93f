"""Batched MQTT acknowledgements: one socket write for all the PUBACKs one Kafka poll confirmed.

paho's ``Client.ack`` queues one packet and wakes the network thread for every message: a socket-pair
write, a select wake-up and a 4-byte ``send`` each, which was most of the bridge's CPU at a few thousand
messages a second. A QoS 1 PUBACK with reason Success and no properties is a fixed 4-byte packet in MQTT
3.1.1 and 5 alike (MQTT 5, 3.4.2.1: reason code and properties may be omitted when the reason is Success),
so a batch is their concatenation, queued on paho's outgoing queue as one packet and written in order with
everything else paho sends.

An ack belongs to one connection: after a reconnect the broker re-sends what was not acknowledged and may
reuse packet ids, so a stale ack could acknowledge a different, undelivered message. Each ack carries the
connection generation its message came on; paho clears its outgoing queue on reconnect, and acks of an
older generation are dropped here (their messages come back and are acknowledged then).
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterable
from typing import Final

import paho.mqtt.client as mqtt

PUBACK: Final = 0x40
_PUBACK = struct.Struct("!BBH")


def puback_packets(mids: Iterable[int]) -> bytes:
    """Concatenated PUBACK packets (fixed header 0x40, remaining length 2, packet id)."""
    return b"".join([_PUBACK.pack(PUBACK, 2, mid) for mid in mids])


class AckBatcher:
    """Collects acks from Kafka delivery callbacks; :meth:`send` queues them on the MQTT client at once.

    ``add`` and ``send`` run on the thread that serves delivery callbacks (the poll thread, or the stopping
    thread during the final flush); ``new_connection`` runs on paho's network thread.
    """

    def __init__(self, client: mqtt.Client) -> None:
        self._client = client
        self._pending: list[tuple[int, int]] = []
        self._lock = threading.Lock()
        self.generation = 0
        self.sent = 0  # acks written to the broker (for metrics and tests)

    def new_connection(self) -> None:
        with self._lock:
            self.generation += 1

    def add(self, generation: int, mid: int, qos: int) -> None:
        if qos == 1:  # QoS 0 needs no ack; the subscription grants at most QoS 1
            self._pending.append((generation, mid))

    def send(self) -> int:
        """Queue every pending ack of the current connection as one packet; returns how many."""
        if not self._pending:
            return 0
        pending, self._pending = self._pending, []
        with self._lock:
            mids = [mid for generation, mid in pending if generation == self.generation]
            if mids:
                # paho has no public call for a batch; _packet_queue is what its own ack() uses.
                self._client._packet_queue(PUBACK, puback_packets(mids), 0, 0)
        self.sent += len(mids)
        return len(mids)
