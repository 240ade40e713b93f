"""Read-ahead for paho's socket: one ``recv`` per 64 KiB instead of three or four per MQTT message.

paho reads each packet's fixed header a byte at a time (type, then the length bytes) and then the body,
each with its own ``recv`` system call, and runs one ``select`` per packet. At 10,000+ messages a second
those calls are a large share of the bridge's CPU. The proxy below serves paho's small reads from one big
read, and the client handles all packets read ahead before it selects again. paho already asks a socket
for ``pending()`` bytes (it does so for TLS) and then does not wait in ``select``, so nothing buffered is
ever left waiting for the network.

With a publish handler set, the client also takes every complete QoS 0/1 PUBLISH in the buffer itself
(see ``frames.py``) and hands it to the handler: no paho message object, matcher or MQTT 5 properties.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion

from edge.bridge.frames import Publish, split_publish

READ_AHEAD: Final = 64 * 1024

PublishHandler = Callable[[Publish], None]
_QUICKACK: Final = getattr(socket, "TCP_QUICKACK", None)  # Linux; the kernel clears it again, so set per read


class ReadAheadSocket:
    """A non-blocking TCP socket whose ``recv`` reads ahead; everything else goes to the socket."""

    __slots__ = ("_data", "_pos", "_quickack", "_sock")

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._data = b""
        self._pos = 0
        self._quickack = _QUICKACK if sock.family in (socket.AF_INET, socket.AF_INET6) else None

    def recv(self, bufsize: int) -> bytes:
        data, pos = self._data, self._pos
        if pos >= len(data):
            data = self._sock.recv(READ_AHEAD)  # BlockingIOError and b"" (closed) go to paho as they are
            if not data:
                return data
            if self._quickack is not None:
                # Acknowledge TCP segments at once. Our PUBACKs leave only after Kafka confirms, so the
                # kernel would hold its ACKs back (delayed ACK), and a broker without TCP_NODELAY waits
                # for them before sending the next small PUBLISH (Nagle): 10-40 ms per message at low rates.
                self._sock.setsockopt(socket.IPPROTO_TCP, self._quickack, 1)
            self._data, pos = data, 0
        self._pos = pos + bufsize
        return data[pos : pos + bufsize]

    def pending(self) -> int:
        """Bytes read from the network and not yet handed to paho."""
        return max(0, len(self._data) - self._pos)

    def take_publishes(self, handler: PublishHandler, v5: bool) -> int:
        """Hand every complete QoS 0/1 PUBLISH at the front of the buffer to ``handler``; how many."""
        data, taken = self._data, 0
        while (publish := split_publish(data, self._pos, v5)) is not None:
            self._pos = publish.end  # consumed even if the handler raises, as in paho
            handler(publish)
            taken += 1
        return taken

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class ReadAheadClient(mqtt.Client):
    """paho's client on a :class:`ReadAheadSocket` (plain TCP only; TLS sockets are left as they are).

    ``loop_read`` also handles every packet already read ahead, instead of one packet per ``select``.
    """

    _publish_handler: PublishHandler | None = None

    def set_publish_handler(self, handler: PublishHandler) -> None:
        """Take QoS 0/1 PUBLISH packets to ``handler`` instead of ``on_message`` (which still gets the few
        that paho reads itself, such as the first of each network read).

        Only with ``manual_ack``: the handler's owner sends the PUBACKs.
        """
        if not self._manual_ack:
            raise ValueError("a publish handler needs manual_ack=True: paho would not acknowledge its messages")
        self._publish_handler = handler

    def _packet_read(self) -> MQTTErrorCode:
        sock, handler = self._sock, self._publish_handler
        # Only between packets: when paho is part-way through one, it finishes it.
        between_packets = self._in_packet["command"] == 0
        if (
            handler is not None
            and between_packets
            and isinstance(sock, ReadAheadSocket)
            and sock.take_publishes(handler, self._protocol == MQTTProtocolVersion.MQTTv5)
        ):
            with self._msgtime_mutex:  # what paho's keepalive check reads
                self._last_bytes_received = mqtt.time_func()
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._packet_read()

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        return ReadAheadSocket(sock) if type(sock) is socket.socket else sock

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        while rc is MQTTErrorCode.MQTT_ERR_SUCCESS and isinstance(self._sock, ReadAheadSocket):
            if not self._sock.pending():
                break
            rc = super().loop_read(max_packets)
        return rc
