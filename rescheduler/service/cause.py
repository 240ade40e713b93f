"""The cause of a late order in human words, computed from the plan.

The operation of the order that waited longest for its machine is where the order lost its time;
its machine (if broken down) and its workcenter's load until that operation could start are the
cause, e.g. "Heading press H2 in FAULT; Cold heading full for 3 days (load 96%)". When no operation
waited, the order simply has more work left than time before its due date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rescheduler.service.plan import PlannedOp

# A wait shorter than this is the normal hand-over between operations, not a cause.
_NOTABLE_WAIT = timedelta(minutes=30)


@dataclass(frozen=True)
class PlantView:
    """Names and current conditions the cause text refers to."""

    machine_workcenter: Mapping[str, str]
    machine_names: Mapping[str, str] = field(default_factory=dict)
    workcenter_names: Mapping[str, str] = field(default_factory=dict)
    workcenter_machines: Mapping[str, Sequence[str]] = field(default_factory=dict)
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


def longest_wait(
    order_ops: Sequence[PlannedOp], now: datetime, release: Mapping[str, datetime]
) -> tuple[PlannedOp, timedelta] | None:
    """The operation that waited longest after it could have started, and how long."""
    best: tuple[PlannedOp, timedelta] | None = None
    by_wo: dict[str, list[PlannedOp]] = {}
    for op in order_ops:
        by_wo.setdefault(op.work_order_id, []).append(op)
    for wo_id, ops in by_wo.items():
        ready = max(now, release.get(wo_id, now))
        for op in sorted(ops, key=lambda o: o.seq):
            wait = op.start - ready if not op.frozen else timedelta(0)
            if best is None or wait > best[1] or (wait == best[1] and op.start > best[0].start):
                best = (op, wait)
            ready = max(ready, op.end)
    return best


def workcenter_load(plan: Sequence[PlannedOp], machines: Sequence[str], start: datetime, end: datetime) -> float:
    """Share of the machines' time booked between ``start`` and ``end``."""
    span = (end - start).total_seconds() * max(1, len(machines))
    if span <= 0:
        return 0.0
    wanted = set(machines)
    booked = sum(
        max(0.0, (min(op.end, end) - max(op.start, start)).total_seconds()) for op in plan if op.machine_id in wanted
    )
    return min(1.0, booked / span)


def late_cause(
    order_ops: Sequence[PlannedOp],
    plan: Sequence[PlannedOp],
    view: PlantView,
    now: datetime,
    release: Mapping[str, datetime] | None = None,
) -> str:
    found = longest_wait(order_ops, now, release or {})
    if found is None:
        return "not in the plan"
    op, wait = found
    machine = op.machine_id
    workcenter = view.machine_workcenter.get(machine, "")
    machine_name = view.machine_names.get(machine, machine)
    wc_name = view.workcenter_names.get(workcenter, workcenter or "its workcenter")
    parts: list[str] = []
    # A broken machine anywhere the order must pass is worth naming even if it was not the longest wait.
    for other in sorted({o.machine_id for o in order_ops} | {machine}):
        state = view.down.get(other)
        if state is not None:
            parts.append(f"{view.machine_names.get(other, other)} in {state}")
    if wait < _NOTABLE_WAIT:
        remaining = sum(((o.end - max(o.start, now)) for o in order_ops if o.end > now), timedelta(0))
        parts.append(f"{human_duration(remaining)} of work left, too little time before the due date")
        return "; ".join(parts)
    full_for_h = view.bottleneck_full_for_h.get(workcenter)
    full_for = timedelta(hours=full_for_h) if full_for_h else op.start - now
    load = workcenter_load(plan, view.workcenter_machines.get(workcenter, [machine]), now, op.start)
    parts.append(f"{wc_name} full for {human_duration(full_for)} (load {load:.0%})")
    parts.append(f"waits {human_duration(wait)} for {machine_name}")
    return "; ".join(parts)
