"""The end-to-end oracle: what the tables must hold, computed from the simulator's event log alone.

Written from the definitions in the docs (operations/architecture, and the utilization module's docstring
of what a minute means), not from the processors' code: one pass over each machine's de-duplicated events
in event-time order, state intervals cut at minute edges, counter deltas with reset detection, planned
time from the plant model's calendar (``Plant.machine_intervals``, the core's).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from edge.sim.eventlog import LogRecord
from shopfloor.plant import Plant

MINUTE = timedelta(minutes=1)
STATE_COLUMNS = ("running", "idle", "setup", "stopped", "maintenance", "fault", "offline")


def minute_of(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass
class Minute:
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STATE_COLUMNS, 0.0))
    good: int = 0
    scrap: int = 0
    planned_s: float = 0.0
    run_planned_s: float = 0.0


@dataclass(frozen=True)
class Expected:
    """Per machine and minute, what ``machine_utilization_1m`` must say; and the raw-table counts."""

    minutes: dict[tuple[str, datetime], Minute]
    raw_counts: dict[str, int]
    last_state: dict[str, tuple[str, str | None, datetime]]
    last_event: dict[str, datetime]
    # Per machine, the minutes holding one of its state or counter events, in order.
    event_minutes: dict[str, list[datetime]]
    event_ids: set[str]
    # Per (work order, operation seq): good, scrap, unique scans, and whether it was finished.
    operations: dict[tuple[str, int], tuple[int, int, int, bool]]


def valid_events(records: Iterable[LogRecord]) -> list[dict[str, Any]]:
    """Every valid event once (duplicates share an event_id; malformed records carry no event)."""
    seen: dict[str, dict[str, Any]] = {}
    for record in records:
        if record.event is not None and record.event_id is not None:
            seen.setdefault(record.event_id, record.event)
    return list(seen.values())


def _overlap(lo: datetime, hi: datetime, intervals: Iterable[tuple[datetime, datetime]]) -> float:
    return sum(max(0.0, (min(hi, b) - max(lo, a)).total_seconds()) for a, b in intervals)


def compute(records: Iterable[LogRecord], plant: Plant) -> Expected:
    events = valid_events(records)
    raw: dict[str, int] = defaultdict(int)
    per_machine: dict[str, list[tuple[datetime, int, str, dict[str, Any]]]] = defaultdict(list)
    for event in events:
        kind = event["type"]
        payload = event["payload"]
        if kind == "machine.state":
            raw["machine_state"] += 1
        elif kind == "machine.counter":
            raw["machine_counter"] += 1
        elif kind == "machine.process":
            raw["machine_process"] += len(payload["values"])
        elif kind.startswith("wo."):
            raw["mes_event"] += 1
        if kind in ("machine.state", "machine.counter"):
            # At one instant, counters first: the pieces were made before the state changed.
            order = 1 if kind == "machine.state" else 0
            per_machine[payload["machine_id"]].append((parse_ts(event["ts"]), order, event["event_id"], event))
    minutes: dict[tuple[str, datetime], Minute] = {}
    last_state: dict[str, tuple[str, str | None, datetime]] = {}
    last_event: dict[str, datetime] = {}
    event_minutes: dict[str, list[datetime]] = {}
    for machine, items in per_machine.items():
        items.sort(key=lambda item: (item[0], item[1], item[2]))
        first, last = minute_of(items[0][0]), minute_of(items[-1][0])
        last_event[machine] = last
        event_minutes[machine] = sorted({minute_of(item[0]) for item in items})
        rows: dict[datetime, Minute] = {}
        bucket = first
        while bucket <= last:
            row = Minute()
            planned = plant.machine_intervals(machine, bucket, bucket + MINUTE)
            row.planned_s = _overlap(bucket, bucket + MINUTE, planned)
            rows[bucket] = row
            bucket += MINUTE
        # State intervals: each state holds from its event to the next one; the last to its minute's end.
        states = [(ts, e["payload"]) for ts, order, _id, e in items if order == 1]
        for i, (ts, payload) in enumerate(states):
            until = states[i + 1][0] if i + 1 < len(states) else last + MINUTE
            name = payload["state"].lower()
            cursor = ts
            while cursor < until:
                edge = min(until, minute_of(cursor) + MINUTE)
                row = rows[minute_of(cursor)]
                row.seconds[name] += (edge - cursor).total_seconds()
                if name == "running":
                    planned = plant.machine_intervals(machine, cursor, edge)
                    row.run_planned_s += _overlap(cursor, edge, planned)
                cursor = edge
        if states:
            ts, payload = states[-1]
            last_state[machine] = (payload["state"], payload.get("reason_code"), ts)
        # Counters: pieces since the previous cumulative reading; a drop is a reset (the reading itself
        # is then what was made since); the first reading is only a baseline.
        previous: tuple[int, int] | None = None
        for ts, order, _id, event in items:
            if order != 0:
                continue
            good, scrap = event["payload"]["good"], event["payload"]["scrap"]
            if previous is not None:
                row = rows[minute_of(ts)]
                row.good += good - previous[0] if good >= previous[0] else good
                row.scrap += scrap - previous[1] if scrap >= previous[1] else scrap
            previous = (good, scrap)
        minutes.update({(machine, bucket): row for bucket, row in rows.items()})
    ids = {str(e["event_id"]) for e in events}
    return Expected(minutes, dict(raw), last_state, last_event, event_minutes, ids, operation_totals(events))


def operation_totals(events: Iterable[dict[str, Any]]) -> dict[tuple[str, int], tuple[int, int, int, bool]]:
    """Good and scrap reported per operation (scans report increments), its scans, and if it finished."""
    totals: dict[tuple[str, int], tuple[int, int, int, bool]] = {}
    for event in events:
        if not event["type"].startswith("wo."):
            continue
        p = event["payload"]
        key = (p["work_order_id"], p["operation_seq"])
        good, scrap, scans, done = totals.get(key, (0, 0, 0, False))
        totals[key] = (
            good + int(p.get("good") or 0),
            scrap + int(p.get("scrap") or 0),
            scans + 1,
            done or event["type"] == "wo.finished",
        )
    return totals


def ratios(row: Minute, ideal_cycle_s: float | None) -> tuple[float | None, float | None, float | None]:
    """(availability, performance, quality) by the documented definitions."""
    availability = row.run_planned_s / row.planned_s if row.planned_s > 0 else None
    running = row.seconds["running"]
    total = row.good + row.scrap
    performance = ideal_cycle_s * total / running if ideal_cycle_s is not None and running > 0 else None
    quality = row.good / total if total > 0 else None
    return availability, performance, quality
