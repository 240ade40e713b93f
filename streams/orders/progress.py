"""Work-order progress as a pure function of the set of ``wo.*`` events seen (no I/O).

The state of one work order is the list of its events, de-duplicated by ``event_id`` and kept in a
JSON-friendly dict so it can live in a faust table (its changelog is the durable copy). Everything
written to the database is *derived* from that set, sorted by event time: a redelivered event
(at-least-once) changes nothing, and a late scan from an offline scan gun lands where it belongs.

Per operation the derivation gives status, machine, actual start and finish, good and scrap, and the
active time: the time between ``wo.started``/``wo.resumed`` and ``wo.paused``/``wo.finished``, so
paused time never counts towards a learned standard time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from shopfloor.events import (
    WoFinishedEvent,
    WoPausedEvent,
    WoReportedEvent,
    WoResumedEvent,
    WoStartedEvent,
)

WoEvent = WoStartedEvent | WoReportedEvent | WoPausedEvent | WoResumedEvent | WoFinishedEvent

# A work order's events kept per operation; a real one has tens. Past this, the oldest reports are
# folded into a carried total, so memory stays bounded and totals stay right.
MAX_EVENTS_PER_OPERATION: Final = 2000

_KIND: Final[dict[str, str]] = {
    "wo.started": "start",
    "wo.reported": "report",
    "wo.paused": "pause",
    "wo.resumed": "resume",
    "wo.finished": "finish",
}

State = dict[str, Any]
"""``{"ops": {"<seq>": {"events": [[ts_iso, kind, good, scrap, event_id, machine], ...],
"carried": [good, scrap]}}}``"""


@dataclass(frozen=True, slots=True)
class OperationProgress:
    work_order_id: str
    seq: int
    status: str  # pending / started / paused / done (the operation table's vocabulary)
    machine_id: str | None
    actual_start: datetime | None
    actual_finish: datetime | None
    good: int
    scrap: int
    active_s: float
    paused_s: float
    events: int


def new_state() -> State:
    return {"ops": {}}


def apply(state: State | None, event: WoEvent) -> tuple[State, bool]:
    """The state with ``event`` added; the flag says whether it was new (False for a redelivery)."""
    state = new_state() if state is None else state
    p = event.payload
    op = state["ops"].setdefault(str(p.operation_seq), {"events": [], "carried": [0, 0]})
    event_id = str(event.event_id)
    if any(row[4] == event_id for row in op["events"]):
        return state, False
    good = getattr(p, "good", 0)
    scrap = getattr(p, "scrap", 0)
    op["events"].append([event.ts.isoformat(), _KIND[event.type], good, scrap, event_id, p.machine_id])
    if len(op["events"]) > MAX_EVENTS_PER_OPERATION:
        _fold_oldest_reports(op)
    return state, True


def _fold_oldest_reports(op: dict[str, Any]) -> None:
    # Only reports are folded (their quantities add up); starts, pauses and finishes carry the timing.
    events = sorted(op["events"], key=lambda row: row[0])
    excess = len(events) - MAX_EVENTS_PER_OPERATION // 2
    keep: list[list[Any]] = []
    for row in events:
        if excess > 0 and row[1] == "report":
            op["carried"][0] += row[2]
            op["carried"][1] += row[3]
            excess -= 1
        else:
            keep.append(row)
    op["events"] = keep


def operations(work_order_id: str, state: State) -> list[OperationProgress]:
    """Every operation's progress, derived from the events in event-time order."""
    return [_derive(work_order_id, int(seq), op) for seq, op in sorted(state["ops"].items(), key=lambda kv: int(kv[0]))]


def _derive(work_order_id: str, seq: int, op: dict[str, Any]) -> OperationProgress:
    rows = sorted(op["events"], key=lambda row: (row[0], row[4]))
    good, scrap = int(op["carried"][0]), int(op["carried"][1])
    status = "pending"
    machine: str | None = None
    start: datetime | None = None
    finish: datetime | None = None
    running_since: datetime | None = None
    paused_since: datetime | None = None
    active = paused = 0.0
    for ts_iso, kind, g, s, _event_id, machine_id in rows:
        ts = datetime.fromisoformat(ts_iso)
        good += int(g)
        scrap += int(s)
        if machine_id is not None:
            machine = machine_id
        # A report starts the clock only when no start was scanned (the work began by then); after a
        # pause it does not: quantities are often reported at the moment of pausing.
        starts = kind in ("start", "resume") or (kind == "report" and status == "pending")
        if starts and running_since is None and status != "done":
            if paused_since is not None:
                paused += (ts - paused_since).total_seconds()
                paused_since = None
            running_since = ts
            status = "started"
            start = ts if start is None else min(start, ts)
        elif kind == "pause" and status != "done":
            if running_since is not None:
                active += (ts - running_since).total_seconds()
                running_since = None
            paused_since = paused_since or ts
            status = "paused"
            start = ts if start is None else start
        elif kind == "finish":
            if running_since is not None:
                active += (ts - running_since).total_seconds()
                running_since = None
            if paused_since is not None:
                paused += (ts - paused_since).total_seconds()
                paused_since = None
            status = "done"
            finish = ts if finish is None else finish
            start = ts if start is None else start
    return OperationProgress(work_order_id, seq, status, machine, start, finish, good, scrap, active, paused, len(rows))
