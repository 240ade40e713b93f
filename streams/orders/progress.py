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
    event_type,
)

WoEvent = WoStartedEvent | WoReportedEvent | WoPausedEvent | WoResumedEvent | WoFinishedEvent

# Reports (the bulk of the scans) are folded into totals as they arrive; the ids of the newest
# SEEN_REPORTS are kept to recognise a redelivery (at-least-once redelivers from the last committed
# offset, i.e. at most a batch or two back). Starts, pauses, resumes and finishes are kept whole:
# they carry the timing and there are few of them.
SEEN_REPORTS: Final = 512

_KIND: Final[dict[str, str]] = {
    event_type(WoStartedEvent): "start",
    event_type(WoReportedEvent): "report",
    event_type(WoPausedEvent): "pause",
    event_type(WoResumedEvent): "resume",
    event_type(WoFinishedEvent): "finish",
}

State = dict[str, Any]
"""``{"ops": {"<seq>": {"timing": [[ts_iso, kind, event_id, machine], ...], "good": n, "scrap": n,
"first_report": ts_iso | None, "machine": [ts_iso, machine] | None, "seen": [event_id, ...], "n": events}}}``"""


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


def _new_op() -> dict[str, Any]:
    return {"timing": [], "good": 0, "scrap": 0, "first_report": None, "machine": None, "seen": [], "n": 0}


def apply(state: State | None, event: WoEvent) -> tuple[State, bool]:
    """The state with ``event`` added; the flag says whether it was new (False for a redelivery)."""
    state = new_state() if state is None else state
    p = event.payload
    op = state["ops"].setdefault(str(p.operation_seq), _new_op())
    event_id = str(event.event_id)
    ts = event.ts.isoformat()
    kind = _KIND[event.type]
    if kind != "report":
        if any(row[2] == event_id for row in op["timing"]):
            return state, False
        op["timing"].append([ts, kind, event_id, p.machine_id])
        op["n"] += 1
        return state, True
    if event_id in op["seen"]:
        return state, False
    op["seen"].append(event_id)
    op["n"] += 1
    if len(op["seen"]) > SEEN_REPORTS:
        del op["seen"][0]
    op["good"] += getattr(p, "good", 0)
    op["scrap"] += getattr(p, "scrap", 0)
    if op["first_report"] is None or ts < op["first_report"]:
        op["first_report"] = ts
    if p.machine_id is not None and (op["machine"] is None or ts >= op["machine"][0]):
        op["machine"] = [ts, p.machine_id]
    return state, True


def operations(work_order_id: str, state: State) -> list[OperationProgress]:
    """Every operation's progress, derived from the events in event-time order."""
    return [_derive(work_order_id, int(seq), op) for seq, op in sorted(state["ops"].items(), key=lambda kv: int(kv[0]))]


def _derive(work_order_id: str, seq: int, op: dict[str, Any]) -> OperationProgress:
    rows = sorted(op["timing"], key=lambda row: (row[0], row[2]))
    if op["first_report"] is not None:
        # The earliest report stands in for a start scan that never came (the work began by then).
        rows = sorted([*rows, [op["first_report"], "report", "", None]], key=lambda row: (row[0], row[2]))
    status = "pending"
    machine_at: tuple[str, str] | None = tuple(op["machine"]) if op["machine"] else None
    start: datetime | None = None
    finish: datetime | None = None
    running_since: datetime | None = None
    paused_since: datetime | None = None
    active = paused = 0.0
    for ts_iso, kind, _event_id, machine_id in rows:
        ts = datetime.fromisoformat(ts_iso)
        if machine_id is not None and (machine_at is None or ts_iso >= machine_at[0]):
            machine_at = (ts_iso, machine_id)
        # A report starts the clock only when no start was scanned; after a pause it does not:
        # quantities are often reported at the moment of pausing.
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
    events = int(op["n"])
    return OperationProgress(
        work_order_id,
        seq,
        status,
        machine_at[1] if machine_at else None,
        start,
        finish,
        int(op["good"]),
        int(op["scrap"]),
        active,
        paused,
        events,
    )
