"""``machine_current_state``: the newest state of each machine, from the raw sink's batches.

A batch is reduced to one update per machine (its newest state event), then upserted in the same
transaction as the raw rows. The upsert compares event times, so an older event arriving after a newer
one (out of order, a redelivery, a second consumer) never moves a machine's state backwards. ``since``
is when the machine entered the state: a repeated report of the same state and reason keeps it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from shopfloor.db.pool import Connection
from shopfloor.events import EventBase, MachineStateEvent


@dataclass(frozen=True, slots=True)
class StateUpdate:
    machine_id: str
    state: str
    reason_code: str | None
    since: datetime
    last_event_ts: datetime
    event_id: uuid.UUID
    # Whether the batch itself shows the machine entering this state (then `since` is the batch's).
    entered_in_batch: bool


def state_updates(events: Iterable[EventBase]) -> list[StateUpdate]:
    """One update per machine: its newest state in the batch and since when it holds."""
    by_machine: dict[str, list[MachineStateEvent]] = {}
    for event in events:
        if isinstance(event, MachineStateEvent):
            by_machine.setdefault(event.payload.machine_id, []).append(event)
    updates: list[StateUpdate] = []
    for machine_id, changes in sorted(by_machine.items()):
        changes.sort(key=lambda e: (e.ts, str(e.event_id)))
        last = changes[-1]
        key = (last.payload.state, last.payload.reason_code)
        first = len(changes) - 1
        while first > 0 and (changes[first - 1].payload.state, changes[first - 1].payload.reason_code) == key:
            first -= 1
        updates.append(
            StateUpdate(
                machine_id=machine_id,
                state=last.payload.state.value,
                reason_code=last.payload.reason_code,
                since=changes[first].ts,
                last_event_ts=last.ts,
                event_id=last.event_id,
                entered_in_batch=first > 0,
            )
        )
    return updates


_UPSERT = """
INSERT INTO machine_current_state AS cur (machine_id, state, reason_code, since, last_event_ts, event_id)
VALUES (%(machine_id)s, %(state)s, %(reason_code)s, %(since)s, %(last_event_ts)s, %(event_id)s)
ON CONFLICT (machine_id) DO UPDATE SET
    since = CASE WHEN NOT %(entered_in_batch)s AND cur.state = EXCLUDED.state
                      AND cur.reason_code IS NOT DISTINCT FROM EXCLUDED.reason_code
                 THEN LEAST(cur.since, EXCLUDED.since) ELSE EXCLUDED.since END,
    state = EXCLUDED.state, reason_code = EXCLUDED.reason_code, last_event_ts = EXCLUDED.last_event_ts,
    event_id = EXCLUDED.event_id, updated_at = now()
WHERE (COALESCE(cur.last_event_ts, cur.since), cur.event_id::text) < (EXCLUDED.last_event_ts, EXCLUDED.event_id::text)
"""


def write_current_state(conn: Connection, updates: list[StateUpdate]) -> int:
    """Upsert the updates (inside the caller's transaction, or its own); returns rows changed."""
    if not updates:
        return 0
    changed = 0
    with conn.transaction(), conn.cursor() as cursor:
        for update in updates:  # at most one per machine: a few dozen per batch
            cursor.execute(
                _UPSERT,
                {
                    "machine_id": update.machine_id,
                    "state": update.state,
                    "reason_code": update.reason_code,
                    "since": update.since,
                    "last_event_ts": update.last_event_ts,
                    "event_id": update.event_id,
                    "entered_in_batch": update.entered_in_batch,
                },
            )
            changed += cursor.rowcount
    return changed
