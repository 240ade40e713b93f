"""Events that call for a replan, and the state they leave in the database.

The service learns machine states from ``machine_current_state``, which the streams keep (util15's
current-state processor), through :class:`MachineStateWatch`: it no longer reads the whole
telemetry topic. ``record_batch`` still turns any ``machine.state`` it is given into that table's
rows (the newest state change wins; a breakdown is FAULT, MAINTENANCE or OFFLINE); bottleneck
events become ``bottleneck`` rows. Both are written in the batch's
transaction, before the consumer commits its offsets, so a replan after a crash still sees them.
Orders are stored by the order hub; their events only tell us when to replan.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

from confluent_kafka import Message

from shopfloor.db.pool import Connection
from shopfloor.db.state import record_bottleneck
from shopfloor.events import (
    BOTTLENECK_EVENT_TYPES,
    BREAKDOWN_STATES,
    ORDER_EVENT_TYPES,
    BottleneckClearedEvent,
    BottleneckDetectedEvent,
    EventError,
    MachineStateEvent,
    WoReleasedEvent,
    event_type,
    parse_event,
)
from shopfloor.headers import HEADER_TYPE, header_value

log = logging.getLogger(__name__)

# Telemetry is mostly counters and process values: the type header lets us skip them unparsed.
WANTED_TYPES: Final = frozenset(
    {event_type(MachineStateEvent), *BOTTLENECK_EVENT_TYPES, *ORDER_EVENT_TYPES, event_type(WoReleasedEvent)}
)


def record_batch(conn: Connection, batch: Sequence[Message]) -> list[str]:
    """Store the state the batch carries (inside the caller's transaction); returns the replan reasons."""
    reasons: list[str] = []
    for message in batch:
        kind = header_value(message.headers(), HEADER_TYPE)
        if kind is not None and kind not in WANTED_TYPES:
            continue
        try:
            event = parse_event(message.value() or b"")
        except EventError as exc:
            log.warning("skipping invalid message on %s: %s", message.topic(), exc)
            continue
        if isinstance(event, MachineStateEvent):
            reason = _machine_state(conn, event)
        elif isinstance(event, BottleneckDetectedEvent | BottleneckClearedEvent):
            reason = _bottleneck(conn, event)
        elif event.type in WANTED_TYPES:
            reason = f"{event.type} {event.key}"
        else:
            reason = None
        if reason is not None:
            reasons.append(reason)
    return reasons


def _machine_state(conn: Connection, event: MachineStateEvent) -> str | None:
    machine, state = event.payload.machine_id, event.payload.state.value
    before = conn.execute(
        "SELECT state, since FROM machine_current_state WHERE machine_id = %s FOR UPDATE", (machine,)
    ).fetchone()
    if before is not None and (before[1] >= event.ts or before[0] == state):
        return None  # older than what we know, or no change
    conn.execute(
        """
        INSERT INTO machine_current_state (machine_id, state, since, event_id) VALUES (%s, %s, %s, %s)
        ON CONFLICT (machine_id) DO UPDATE SET state = EXCLUDED.state, since = EXCLUDED.since,
                                               event_id = EXCLUDED.event_id
        """,
        (machine, state, event.ts, event.event_id),
    )
    was_down = before is not None and before[0] in BREAKDOWN_STATES
    if (state in BREAKDOWN_STATES) == was_down:
        return None  # e.g. RUNNING -> IDLE: capacity unchanged
    return f"{machine} {state}"


def _bottleneck(conn: Connection, event: BottleneckDetectedEvent | BottleneckClearedEvent) -> str | None:
    if not record_bottleneck(conn, event):
        return None
    detected = isinstance(event, BottleneckDetectedEvent)
    return f"bottleneck {'detected' if detected else 'cleared'} on {event.payload.workcenter_id}"


class MachineStateWatch:
    """Breakdowns and repairs seen in ``machine_current_state`` since the last poll, as replan reasons.

    The first poll only learns the current states (the start-up replan already plans with them).
    """

    def __init__(self) -> None:
        self._down: set[str] | None = None

    def poll(self, conn: Connection) -> list[str]:
        with conn.transaction():
            rows = conn.execute("SELECT machine_id, state FROM machine_current_state").fetchall()
        states: dict[str, str] = {str(m): str(state) for m, state in rows}
        down = {m for m, state in states.items() if state in BREAKDOWN_STATES}
        before, self._down = self._down, down
        if before is None:
            return []
        return [f"{m} {states[m]}" for m in sorted(down - before)] + [
            f"{m} {states.get(m, 'unknown')}" for m in sorted(before - down)
        ]
