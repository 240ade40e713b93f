"""Bottleneck transitions out: the event on ``shopfloor.bottlenecks``, then the ``bottleneck`` row.

The event is sent (and acknowledged) before the row is written: a crash in between leaves the row
saying "not announced", so the restarted detector announces it again. A repeated ``detected`` is
harmless (the rescheduler keeps the newest by event time); a lost one would not be.
"""

from __future__ import annotations

from datetime import datetime

from shopfloor.db.pool import Connection
from shopfloor.db.state import record_bottleneck
from shopfloor.events import (
    BottleneckClearedEvent,
    BottleneckClearedPayload,
    BottleneckDetectedEvent,
    BottleneckDetectedPayload,
    new_event_id,
)
from streams.bottleneck.detect import Cleared, Detected

SOURCE = "streams.bottleneck"


def to_event(
    transition: Detected | Cleared, now: datetime, seq: int, horizon_hours: float
) -> BottleneckDetectedEvent | BottleneckClearedEvent:
    load = transition.load
    if isinstance(transition, Detected):
        return BottleneckDetectedEvent(
            event_id=new_event_id(),
            source=SOURCE,
            seq=seq,
            ts=now,
            payload=BottleneckDetectedPayload(
                workcenter_id=load.workcenter_id,
                machine_id=transition.machine_id,
                load_hours=load.queued_hours,
                capacity_hours=load.capacity_hours,
                horizon_hours=horizon_hours,
                full_for_hours=load.full_for_hours,
                orders_affected=list(transition.orders),
                cause=transition.cause[:256],
            ),
        )
    return BottleneckClearedEvent(
        event_id=new_event_id(),
        source=SOURCE,
        seq=seq,
        ts=now,
        payload=BottleneckClearedPayload(
            workcenter_id=load.workcenter_id,
            machine_id=transition.machine_id,
            load_hours=load.queued_hours,
            capacity_hours=load.capacity_hours,
        ),
    )


def record(conn: Connection, event: BottleneckDetectedEvent | BottleneckClearedEvent) -> None:
    """The ``bottleneck`` row, once Kafka has the event (the core's upsert; newest event time wins)."""
    record_bottleneck(conn, event)


def read_active(conn: Connection) -> dict[str, str | None]:
    return dict(conn.execute("SELECT workcenter_id, machine_id FROM bottleneck WHERE active").fetchall())
