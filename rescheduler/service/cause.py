"""The cause of a late order in human words, computed from the plan.

The operation of the order that queued longest for its machines is where the order lost its time.
Queueing counts working time only: waiting over a weekend or a night without shift is the calendar,
not a cause. Its machine (if broken down) and the load of the machines that could run it, until it
could start, make the cause, e.g. "Heading press H2 in FAULT; Cold heading full for 3 days (load 96%)".
When nothing queued, the order simply has more work left than time before its due date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rescheduler.service.plan import PlannedOp

Interval = tuple[datetime, datetime]

# A wait shorter than this is the normal hand-over between operations, not a cause.
_NOTABLE_WAIT = timedelta(minutes=30)
# Below this share of working time booked, a workcenter is not "full": something else held the order.
_FULL_LOAD = 0.75


@dataclass(frozen=True)
class PlantView:
    """Names and current conditions the cause text refers to."""

    machine_workcenter: Mapping[str, str]
    machine_names: Mapping[str, str] = field(default_factory=dict)
    workcenter_names: Mapping[str, str] = field(default_factory=dict)
    # Machines that may run each operation (work order, seq); defaults to the operation's own machine.
    eligible: Mapping[tuple[str, int], Sequence[str]] = field(default_factory=dict)
    # Non-working time per machine: calendar, maintenance, breakdowns (sorted, disjoint).
    unavailable: Mapping[str, Sequence[Interval]] = field(default_factory=dict)
    # Machines in breakdown now: machine id -> state (FAULT, MAINTENANCE, OFFLINE).
    down: Mapping[str, str] = field(default_factory=dict)
    # Active bottlenecks from the streams: workcenter id -> hours it is fully booked.
    bottleneck_full_for_h: Mapping[str, float] = field(default_factory=dict)


def human_duration(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours >= 36:
        days = round(hours / 24)
        return f"{days} day" + ("s" if days != 1 else "")
    if hours >= 1:
        whole = round(hours)
        return f"{whole} hour" + ("s" if whole != 1 else "")
    minutes = max(1, round(hours * 60))
    return f"{minutes} min"


def merge_intervals(intervals: Sequence[Interval]) -> list[Interval]:
    """Sorted, disjoint union (calendar gaps and breakdowns may overlap)."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        elif end > start:
            out.append((start, end))
    return out


def _overlap(intervals: Sequence[Interval], start: datetime, end: datetime) -> timedelta:
    total = timedelta(0)
    for a, b in intervals:
        if b > start and a < end:
            total += min(b, end) - max(a, start)
    return total


def queue_wait(op: PlannedOp, ready: datetime, view: PlantView) -> timedelta:
    """Working time between when ``op`` could start and when it starts."""
    if op.frozen or op.start <= ready:
        return timedelta(0)
    return (op.start - ready) - _overlap(view.unavailable.get(op.machine_id, ()), ready, op.start)


def longest_wait(
    order_ops: Sequence[PlannedOp], now: datetime, release: Mapping[str, datetime], view: PlantView
) -> tuple[PlannedOp, timedelta] | None:
    """The operation that queued longest after it could have started, and for how long."""
    best: tuple[PlannedOp, timedelta] | None = None
    by_wo: dict[str, list[PlannedOp]] = {}
    for op in order_ops:
        by_wo.setdefault(op.work_order_id, []).append(op)
    for wo_id, ops in by_wo.items():
        ready = max(now, release.get(wo_id, now))
        for op in sorted(ops, key=lambda o: o.seq):
            wait = queue_wait(op, ready, view)
            if best is None or wait > best[1] or (wait == best[1] and op.start > best[0].start):
                best = (op, wait)
            ready = max(ready, op.end)
    return best


def machines_load(
    plan: Sequence[PlannedOp], machines: Sequence[str], start: datetime, end: datetime, view: PlantView
) -> float:
    """Share of the machines' working time booked between ``start`` and ``end``."""
    available = sum(
        ((end - start) - _overlap(view.unavailable.get(m, ()), start, end) for m in machines), timedelta(0)
    ).total_seconds()
    if available <= 0:
        return 1.0
    wanted = set(machines)
    booked = sum(
        max(0.0, (min(op.end, end) - max(op.start, start)).total_seconds()) for op in plan if op.machine_id in wanted
    )
    return min(1.0, booked / available)


def late_cause(
    order_ops: Sequence[PlannedOp],
    plan: Sequence[PlannedOp],
    view: PlantView,
    now: datetime,
    release: Mapping[str, datetime] | None = None,
) -> str:
    found = longest_wait(order_ops, now, release or {}, view)
    if found is None:
        return "not in the plan"
    op, wait = found
    machine = op.machine_id
    workcenter = view.machine_workcenter.get(machine, "")
    wc_name = view.workcenter_names.get(workcenter, workcenter or "its workcenter")
    eligible = list(view.eligible.get(op.key) or [machine])
    parts: list[str] = []
    # A broken machine the order needs is worth naming even when it was not where the order waited longest.
    for other in sorted({o.machine_id for o in order_ops} | set(eligible)):
        state = view.down.get(other)
        if state is not None:
            parts.append(f"{view.machine_names.get(other, other)} in {state}")
    if wait < _NOTABLE_WAIT:
        remaining = sum(((o.end - max(o.start, now)) for o in order_ops if o.end > now), timedelta(0))
        parts.append(f"{human_duration(remaining)} of work left, too little time before the due date")
        return "; ".join(parts)
    full_for_h = view.bottleneck_full_for_h.get(workcenter)
    full_for = timedelta(hours=full_for_h) if full_for_h else op.start - now
    load = machines_load(plan, eligible, now, op.start, view)
    names = ", ".join(view.machine_names.get(m, m) for m in eligible) if len(eligible) <= 3 else wc_name
    if load >= _FULL_LOAD or full_for_h:
        parts.append(f"{wc_name} full for {human_duration(full_for)} (load {load:.0%})")
    else:  # idle machines it may not use yet: shifts, rush reserve
        parts.append(f"no slot on {wc_name} for {human_duration(full_for)} (load {load:.0%})")
    parts.append(f"waits {human_duration(wait)} for {names}")
    return "; ".join(parts)
