"""The sender: drains the outbox over one MQTT connection at a time, in order, with a bounded window.

One thread does everything MQTT: it reads rows, publishes, and drives paho's network I/O through
paho's external-loop API (``socket()``, ``loop_read()``, ``loop_write()``, ``loop_misc()``) in its own
``select``. With no second thread there is no cross-thread hand-off per message (about twice the
throughput of ``loop_start()`` on a loaded machine) and no chance of two writers reordering packets.

Each connection gets a fresh paho client, and paho's automatic reconnect is never used: paho would
re-send its in-memory in-flight messages on reconnect, unmarked and outside our control. Instead, when
a connection ends its client is dropped, and the next connection re-reads the outbox from its oldest
row, marking everything queued before that connection as historical. Rows leave the outbox only on
PUBACK, so at-least-once holds across outages and restarts; consumers de-duplicate on ``event_id``.

With ``confirm_topic`` (delivery confirmations), a PUBACK only frees the window slot: rows that carry a
seq leave when the bridge confirms (``SeqConfirmation`` on ``confirm_topic``) that Kafka has them, so
a broker killed before it saved its state loses nothing: the reconnect re-sends every unconfirmed row.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from edge.buffer import OutboxQueue
from edge.mqtt_login import login
from shopfloor.settings import MqttSettings
from shopfloor.topics import SeqConfirmation

log = logging.getLogger(__name__)

Message = tuple[str, bytes]
"""An MQTT topic and its payload."""

# 20-100 in flight keeps paho at full speed; more costs throughput (measured with mosquitto 2.0).
DEFAULT_WINDOW = 100
_OK = MQTTErrorCode.MQTT_ERR_SUCCESS


@dataclass(eq=False)
class _Session:
    """One connection: its client and which of its message ids stand for which outbox rows."""

    client: mqtt.Client
    seq: int  # of this connection's birth and death
    historical_upto: int = 0
    cursor: int = 0
    inflight: dict[int, tuple[int, bool]] = field(default_factory=dict)  # mid -> (row id, awaits confirmation)
    acked: deque[int] = field(default_factory=deque)  # mids from PUBACKs, not yet settled
    confirmations: deque[bytes] = field(default_factory=deque)  # from the bridge, not yet applied
    last_progress: float = 0.0  # monotonic: last confirmation (or the start of this connection)
    resend_after_s: float = 0.0
    connected: bool = False
    lost: bool = False


class MqttLink:
    """Owns the sender thread. ``birth(seq)`` / ``death(seq, reason)`` build the node's lifecycle messages."""

    def __init__(
        self,
        queue: OutboxQueue,
        settings: MqttSettings,
        client_id: str,
        *,
        birth: Callable[[int], Message],
        death: Callable[[int, str], Message],
        historical: Callable[[bytes], bytes],
        window: int = DEFAULT_WINDOW,
        confirm_topic: str | None = None,
        confirm_timeout_s: float = 30.0,
        reconnect_min_s: float = 0.2,
        reconnect_max_s: float = 2.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.queue = queue
        self.settings = settings
        self.client_id = client_id
        self._birth = birth
        self._death = death
        self._historical = historical
        self.window = window
        self.confirm_topic = confirm_topic
        self.confirm_timeout_s = confirm_timeout_s
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = reconnect_max_s
        self.connect_timeout_s = connect_timeout_s
        self.sent = 0
        self.connections = 0
        # Other threads wake the sender's select() through this pair (new rows, stop).
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._wake_pending = False
        self._stopping = threading.Event()
        self._drained = threading.Condition()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._session_seq: int | None = None
        self._close_reason = "graceful shutdown"

    # -- control (any thread) -----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(target=self._run, name=f"mqtt-sender-{self.client_id}", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        # One byte per sender wake-up is enough: skip the syscall while one is already pending.
        if not self._wake_pending:
            self._wake_pending = True
            with contextlib.suppress(BlockingIOError, OSError):  # full (a wake is pending) or closed
                self._wake_w.send(b"\0")

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def wait_drained(self, timeout: float) -> bool:
        """True once the outbox is empty; rows are deleted on PUBACK, so empty means acknowledged."""
        with self._drained:
            return self._drained.wait_for(lambda: self.queue.rows == 0, timeout)

    def stop(self, reason: str = "graceful shutdown", timeout: float = 15.0) -> None:
        """Publish the death message (if connected), disconnect, join the sender, release sockets."""
        self._close_reason = reason
        self._stopping.set()
        self._wake_pending = False
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
        self._wake_r.close()
        self._wake_w.close()

    # -- sender thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = self.reconnect_min_s
        while not self._stopping.is_set():
            try:
                session = self._open()
            except Exception:  # a bug or an odd broker answer must not kill the sender for good
                log.exception("%s: connecting failed", self.client_id)
                session = None
            if session is None:
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self.reconnect_max_s)
                continue
            backoff = self.reconnect_min_s
            try:
                self._pump(session)
            except Exception:
                log.exception("sender of %s failed; reconnecting", self.client_id)
            finally:
                self._close(session)

    def _open(self) -> _Session | None:
        # A seq is spent per connection that succeeds, not per attempt: the birth and the will share it.
        if self._session_seq is None:
            self._session_seq = self.queue.next_seq()
        seq = self._session_seq
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv311,
            clean_session=True,
            reconnect_on_failure=False,
        )
        # The window is enforced here; a paho limit as well would make paho hold messages back.
        client.max_inflight_messages_set(0)
        login(client, self.settings)
        will_topic, will_payload = self._death(seq, "connection lost")
        client.will_set(will_topic, will_payload, qos=1, retain=False)
        session = _Session(client, seq)
        client.on_connect = lambda _c, _u, _f, rc, _p: self._on_connect(session, rc)
        client.on_disconnect = lambda _c, _u, _f, _rc, _p: self._on_lost(session)
        client.on_publish = lambda _c, _u, mid, _rc, _p: session.acked.append(mid)
        client.on_message = lambda _c, _u, msg: session.confirmations.append(bytes(msg.payload))
        try:
            client.connect(self.settings.host, self.settings.port, self.settings.keepalive_s)
        except OSError as exc:
            log.info("%s cannot reach MQTT %s:%s: %s", self.client_id, self.settings.host, self.settings.port, exc)
            client._reset_sockets()  # close now: unclosed sockets warn at garbage collection
            return None
        deadline = time.monotonic() + self.connect_timeout_s
        while not session.connected and not session.lost and not self._stopping.is_set():
            if time.monotonic() > deadline:
                break
            self._io(session, 0.1)
        if not session.connected or session.lost:
            self._close(session)
            return None
        self.connections += 1
        # The first connection of this process replays as historical only what a previous process
        # left behind; later connections replay everything queued before they came up.
        session.historical_upto = self.queue.max_id_at_open if self.connections == 1 else self.queue.max_id()
        self._session_seq = None
        if self.confirm_topic is not None:
            # Before the birth and every row: the broker handles our packets in order, so no confirmation
            # of a message sent on this connection can come before the subscription is in place.
            client.subscribe(self.confirm_topic, qos=0)
            session.last_progress = time.monotonic()
            session.resend_after_s = self.confirm_timeout_s
        topic, payload = self._birth(seq)
        if client.publish(topic, payload, qos=1, retain=True).rc != _OK:
            self._close(session)
            return None
        self._connected.set()
        return session

    def _pump(self, session: _Session) -> None:
        while not self._stopping.is_set() and not session.lost:
            self._settle(session)
            self._fill(session)
            self._io(session, 1.0)

    def _io(self, session: _Session, timeout: float) -> None:
        """One round of network I/O: wait for the socket or a wake-up, then read, write, keep alive."""
        client = session.client
        sock = client.socket()
        if sock is None:
            self._on_lost(session)
            return
        writers = [sock] if client.want_write() else []
        try:
            readable, writable, _ = select.select([sock, self._wake_r], writers, [], timeout)
        except (OSError, ValueError):  # the socket was closed under us
            self._on_lost(session)
            return
        if self._wake_r in readable:
            with contextlib.suppress(BlockingIOError):
                while self._wake_r.recv(4096):
                    pass
            # Cleared after draining: a wake() skipped meanwhile is for rows the caller below reads anyway.
            self._wake_pending = False
        if sock in readable and client.loop_read() != _OK:
            self._on_lost(session)
            return
        if sock in writable and client.loop_write() != _OK:
            self._on_lost(session)
            return
        if client.loop_misc() != _OK:  # keepalive pings, dead-connection detection
            self._on_lost(session)

    def _fill(self, session: _Session) -> None:
        room = self.window - len(session.inflight)
        # Refill in batches (each read is a SQLite query), or at once when nothing is in flight.
        if room < max(1, self.window // 4) and session.inflight:
            return
        for row in self.queue.read_after(session.cursor, room):
            payload = row.payload
            if row.is_event and row.id <= session.historical_upto:
                payload = self._historical(payload)
            info = session.client.publish(row.topic, payload, qos=1)
            if info.rc != _OK:
                # NO_CONN: the connection dropped under us; the row stays queued for the next one.
                self._on_lost(session)
                return
            session.inflight[info.mid] = (row.id, self.confirm_topic is not None and row.seq is not None)
            session.cursor = row.id

    def _settle(self, session: _Session) -> None:
        """Delete the rows the broker acknowledged (those without confirmation) or the bridge confirmed."""
        rows: list[int] = []
        while session.acked:
            row = session.inflight.pop(session.acked.popleft(), None)
            if row is not None and not row[1]:  # None: the birth or death message, not a queued row
                rows.append(row[0])
        deleted = self.queue.delete(rows) if rows else 0
        ranges: list[tuple[int, int]] = []
        while session.confirmations:
            ranges += self._confirmed_ranges(session.confirmations.popleft())
        if ranges:
            deleted += self.queue.delete_seq_ranges(ranges)
            session.last_progress = time.monotonic()
            session.resend_after_s = self.confirm_timeout_s
        if deleted:
            self.sent += deleted
            with self._drained:
                self._drained.notify_all()
        self._resend_if_unconfirmed(session)

    def _confirmed_ranges(self, payload: bytes) -> list[tuple[int, int]]:
        try:
            confirmation = SeqConfirmation.model_validate_json(payload)
        except ValueError:
            log.warning("%s: ignoring a malformed delivery confirmation", self.client_id)
            return []
        return list(confirmation.ranges)

    def _resend_if_unconfirmed(self, session: _Session) -> None:
        """Rows the broker acknowledged but nobody confirmed for a while go again (marked historical).

        A reconnect re-sends them anyway; this covers a broker that lost them while we stayed connected
        (a bridge session that expired). The wait doubles while nothing is confirmed, so a long Kafka
        outage under the bridge does not turn into a re-send of the whole outbox every few seconds.
        """
        if self.confirm_topic is None or session.inflight or session.cursor == 0:
            return
        now = time.monotonic()
        if now - session.last_progress < session.resend_after_s:
            return
        oldest = self.queue.read_after(0, 1)
        if oldest and oldest[0].id <= session.cursor:
            log.info("%s: no delivery confirmation for %.0f s; re-sending", self.client_id, session.resend_after_s)
            session.cursor = 0
            session.historical_upto = self.queue.max_id()
        session.last_progress = now
        session.resend_after_s = min(session.resend_after_s * 2, 600.0)

    def _close(self, session: _Session) -> None:
        self._connected.clear()
        client = session.client
        if self._stopping.is_set() and session.connected and not session.lost:
            self._settle(session)
            topic, payload = self._death(session.seq, self._close_reason)
            info = client.publish(topic, payload, qos=1)
            deadline = time.monotonic() + 2.0
            while not info.is_published() and not session.lost and time.monotonic() < deadline:
                self._io(session, 0.1)
            self._settle(session)
            if not session.lost:
                client.disconnect()  # writes DISCONNECT at once: no network thread, paho sends inline
        client._reset_sockets()  # close the socket now: unclosed sockets warn at garbage collection
        with self._drained:
            self._drained.notify_all()

    # -- paho callbacks (run in the sender thread, inside loop_read / loop_write) --------------------
    def _on_connect(self, session: _Session, reason: Any) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("%s: broker refused the connection: %s", self.client_id, reason)
            self._on_lost(session)
        else:
            session.connected = True

    def _on_lost(self, session: _Session) -> None:
        session.lost = True
        self._connected.clear()
