"""Read-ahead for paho's socket: one ``recv`` per 64 KiB instead of three or four per MQTT message.

paho reads each packet's fixed header a byte at a time (type, then the length bytes) and then the body,
each with its own ``recv`` system call, and runs one ``select`` per packet. At 10,000+ messages a second
those calls are a large share of the bridge's CPU. The proxy below serves paho's small reads from one big
read, and the client handles all packets read ahead before it selects again. paho already asks a socket
for ``pending()`` bytes (it does so for TLS) and then does not wait in ``select``, so nothing buffered is
ever left waiting for the network.
"""

from __future__ import annotations

import socket
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

READ_AHEAD: Final = 64 * 1024
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

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class ReadAheadClient(mqtt.Client):
    """paho's client on a :class:`ReadAheadSocket` (plain TCP only; TLS sockets are left as they are).

    ``loop_read`` also handles every packet already read ahead, instead of one packet per ``select``.
    """

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
