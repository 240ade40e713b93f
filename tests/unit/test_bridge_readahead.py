"""The read-ahead socket hands paho exactly the byte stream the peer sent, however paho slices its reads."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from edge.bridge.readahead import ReadAheadSocket

pytestmark = pytest.mark.unit


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    left.setblocking(False)
    try:
        yield left, right
    finally:
        left.close()
        right.close()


def test_small_reads_come_from_one_read_ahead(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    wrapped = ReadAheadSocket(left)
    right.sendall(b"\x30\x05hello\x40\x02\x00\x07")
    assert wrapped.recv(1) == b"\x30"
    assert wrapped.pending() == 10
    assert wrapped.recv(1) == b"\x05"
    assert wrapped.recv(5) == b"hello"
    assert wrapped.recv(100) == b"\x40\x02\x00\x07"  # never more than what is buffered
    assert wrapped.pending() == 0


def test_empty_nonblocking_socket_raises_and_eof_returns_empty(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    wrapped = ReadAheadSocket(left)
    with pytest.raises(BlockingIOError):
        wrapped.recv(1)
    right.sendall(b"ab")
    right.shutdown(socket.SHUT_WR)
    assert wrapped.recv(4) == b"ab"
    assert wrapped.recv(1) == b""


def test_other_calls_go_to_the_socket(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    wrapped = ReadAheadSocket(left)
    assert wrapped.fileno() == left.fileno()
    wrapped.send(b"ping")
    assert right.recv(4) == b"ping"
