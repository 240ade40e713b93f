"""Live updates: one poll of the database per page kind for all its clients, fanned out over SSE.

A *channel* (``board``, ``gantt``, ``orders``, ``machine:H2``) is polled only while someone listens.
Each poll computes the channel's sections (tiles, heatmap, ... each as JSON text, serialized once for
every client) and publishes those that changed as events with increasing ids into a bounded buffer.
A client reconnecting with ``Last-Event-ID`` gets the events it missed from the buffer, or, when its
id is older than the buffer (or from before a server restart), a fresh snapshot of every section.
After the data events of each poll comes a ``status`` event (freshness, database reachable) whose id is
the newest data id, so resuming from it misses nothing; it is also the heartbeat the browser watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime

from psycopg_pool import ConnectionPool

from dashboards.models import Status
from dashboards.queries import data_as_of
from shopfloor.db.pool import Connection

log = logging.getLogger(__name__)

# A channel's computation: the connection and the poll's time in, section name -> JSON text out.
Compute = Callable[[Connection, datetime], dict[str, str]]


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    event: str
    data: str


@dataclass
class Channel:
    key: str
    compute: Compute
    buffer: deque[tuple[int, Event]]
    latest: dict[str, tuple[int, Event]] = field(default_factory=dict)
    seq: int = 0
    listeners: int = 0
    polled: bool = False
    status: Event | None = None
    tick: asyncio.Event = field(default_factory=asyncio.Event)
    idle_since: float = field(default_factory=time.monotonic)


class Hub:
    """Polls the channels that have listeners every ``interval`` seconds and wakes their streams."""

    def __init__(
        self,
        pool: ConnectionPool[Connection],
        factory: Callable[[str], Compute | None],
        clock: Callable[[], datetime],
        *,
        interval_s: float,
        stale_after_s: float,
        heartbeat_s: float,
        buffer: int,
    ) -> None:
        self._pool = pool
        self._factory = factory
        self._clock = clock
        self._interval = interval_s
        self._stale_after = stale_after_s
        self._heartbeat = heartbeat_s
        self._buffer = buffer
        self._channels: dict[str, Channel] = {}
        # Ids carry the hub's start time so an id from before a restart is recognised as foreign.
        self._epoch = f"{time.time_ns():x}"
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.polls = 0

    def channel(self, key: str) -> Channel | None:
        found = self._channels.get(key)
        if found is None:
            compute = self._factory(key)
            if compute is None:
                return None
            found = self._channels[key] = Channel(key, compute, deque(maxlen=self._buffer))
        return found

    # --- the poller -------------------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="dashboards-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            active = [c for c in self._channels.values() if c.listeners > 0]
            for key in [k for k, c in self._channels.items() if c.listeners == 0 and started - c.idle_since > 300]:
                del self._channels[key]  # nobody watched it for 5 minutes: free its buffer
            if active:
                results = await asyncio.to_thread(self._poll, active)
                for channel, (sections, status) in zip(active, results, strict=True):
                    self._publish(channel, sections, status)
                self.polls += 1
            self._wake.clear()
            delay = max(0.0, self._interval - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    def _poll(self, channels: list[Channel]) -> list[tuple[dict[str, str], Status]]:
        """In a worker thread: one connection, every active channel, one freshness query."""
        now = self._clock()
        try:
            with self._pool.connection(timeout=5) as conn:
                as_of = data_as_of(conn, now)
                out = [(c.compute(conn, now), self._status(now, as_of, True, "")) for c in channels]
                conn.rollback()
                return out
        except Exception as exc:  # the database is down or a query broke: say so on every page
            log.warning("dashboard poll failed: %s", exc)
            status = self._status(now, None, False, f"{type(exc).__name__}: {exc}"[:300])
            return [({}, status) for _ in channels]

    def _status(self, now: datetime, as_of: datetime | None, ok: bool, error: str) -> Status:
        stale = not ok or as_of is None or (now - as_of).total_seconds() > self._stale_after
        return Status(now=now, data_as_of=as_of, db_ok=ok, stale_after_s=self._stale_after, stale=stale, error=error)

    def _publish(self, channel: Channel, sections: dict[str, str], status: Status) -> None:
        for name, data in sections.items():
            previous = channel.latest.get(name)
            if previous is not None and previous[1].data == data:
                continue
            channel.seq += 1
            item = (channel.seq, Event(self._id(channel.seq), name, data))
            channel.buffer.append(item)
            channel.latest[name] = item
        channel.status = Event(self._id(channel.seq), "status", status.model_dump_json())
        channel.polled = True
        tick, channel.tick = channel.tick, asyncio.Event()
        tick.set()

    def _id(self, seq: int) -> str:
        return f"{self._epoch}-{seq}"

    def _resume_point(self, channel: Channel, last_event_id: str | None) -> int | None:
        """The sequence number to resume after, or None when a full snapshot is needed."""
        if not last_event_id:
            return None
        epoch, _, seq_text = last_event_id.rpartition("-")
        if epoch != self._epoch or not seq_text.isdigit():
            return None
        seq = int(seq_text)
        oldest = channel.buffer[0][0] if channel.buffer else channel.seq + 1
        if seq > channel.seq or seq < oldest - 1:
            return None
        return seq

    # --- the streams ------------------------------------------------------------------------------

    async def stream(self, channel: Channel, last_event_id: str | None) -> AsyncIterator[Event]:
        """The events of one client: the replay or snapshot, then every change and status as it comes."""
        self._ensure_running()
        channel.listeners += 1
        try:
            if not channel.polled:
                self._wake.set()
                await channel.tick.wait()
            cursor = self._resume_point(channel, last_event_id)
            if cursor is None:
                for _, event in sorted(channel.latest.values(), key=lambda item: item[0]):
                    yield event
            else:
                for seq, event in list(channel.buffer):
                    if seq > cursor:
                        yield event
            cursor = channel.seq
            if channel.status is not None:
                yield channel.status
            while True:
                tick = channel.tick
                try:
                    await asyncio.wait_for(tick.wait(), timeout=self._heartbeat)
                except TimeoutError:
                    # No poll came back in time (a slow or hung database): the stream itself says so.
                    yield Event(self._id(cursor), "ping", "{}")
                    continue
                if channel.buffer and channel.buffer[0][0] > cursor + 1:
                    # This client fell further behind than the buffer holds: give it a snapshot.
                    for _, event in sorted(channel.latest.values(), key=lambda item: item[0]):
                        yield event
                else:
                    for seq, event in list(channel.buffer):
                        if seq > cursor:
                            yield event
                cursor = channel.seq
                if channel.status is not None:
                    yield channel.status
        finally:
            channel.listeners -= 1
            channel.idle_since = time.monotonic()
