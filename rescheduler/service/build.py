"""Turning a database snapshot and the plant into the solver's `Problem`.

Times are whole minutes from the plan origin ("now", floored to the minute). Durations are setup plus
unit time times the remaining quantity, rounded up; learned standard times override the plant's. A
started operation is frozen where it runs, ending when its remaining quantity is done (after the
repair, if its machine is down). Machines are unavailable outside their calendar's working time, in
planned maintenance and, when broken down, until the expected repair: the breakdown's start plus the
machine's MTTR (or the configured repair time), and at least a quarter of it from now, since a machine
still down past its MTTR is not about to come back this minute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rescheduler.model import Job, Operation, Placement, Problem, RushReserve, ScheduledOp, Unavailability, spans
from rescheduler.model import calendar as model_calendar
from rescheduler.service.plan import PlannedOp
from rescheduler.service.snapshot import OpenOperation, OpenWorkOrder, Snapshot
from shopfloor.plant import Plant

# A rush order's lateness costs this many times that of a normal order of the same priority, so rush
# orders not eligible for the reserve still come first inside the normal capacity.
RUSH_WEIGHT = 10


@dataclass(frozen=True)
class PlanInput:
    problem: Problem
    origin: datetime
    work_orders: dict[str, OpenWorkOrder]
    # machine -> expected end of its breakdown
    repairs: dict[str, datetime]
    # work orders left out because they cannot be planned at all -> why (the rest is planned anyway)
    unplanned: dict[str, str] = field(default_factory=dict)


def minutes(delta: timedelta) -> int:
    return math.floor(delta.total_seconds() / 60)


def at(origin: datetime, minute: int) -> datetime:
    return origin + timedelta(minutes=minute)


def plan_origin(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def reserve_eligible(plant: Plant, rush: bool, customer_id: str | None, margin_pct: float | None) -> bool:
    """The plant's rush-reserve rule: a rush order that also meets the release condition, a strategic
    customer (if the plant opens the reserve to them) or a margin above the plant's minimum. Other rush
    orders are planned like any order, inside the normal capacity."""
    rule = plant.rules.rush_reserve
    if not rush:
        return False
    if rule.open_to_strategic and customer_id is not None:
        try:
            if plant.customer(customer_id).strategic:
                return True
        except KeyError:
            pass
    return margin_pct is not None and margin_pct > rule.min_margin_pct


def operation_minutes(setup_min: float, unit_min: float, quantity: int) -> int:
    return max(1, math.ceil(setup_min + unit_min * quantity - 1e-9))


def _times(snapshot: Snapshot, product_id: str, op: OpenOperation) -> tuple[float, float]:
    learned = snapshot.standard_times.get((product_id, op.seq))
    return learned if learned is not None else (op.unit_min, op.setup_min)


def repair_ends(plant: Plant, snapshot: Snapshot, now: datetime, repair_h: float | None) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    for machine, (_state, since) in snapshot.down.items():
        try:
            mttr = timedelta(hours=repair_h or plant.machine(machine).reliability.mttr_hours)
        except KeyError:
            continue  # a machine the plant does not know cannot carry planned work
        out[machine] = max(since + mttr, now + mttr / 4)
    return out


def build_input(
    plant: Plant,
    snapshot: Snapshot,
    now: datetime,
    *,
    horizon_days: int,
    repair_h: float | None = None,
    freeze_window_min: float = 0.0,
) -> PlanInput:
    origin = plan_origin(now)
    repairs = repair_ends(plant, snapshot, now, repair_h)
    freeze = _freeze_zone(snapshot, origin, freeze_window_min, repairs)
    machines = tuple(m.id for m in plant.all_machines())
    known = set(machines)
    jobs: list[Job] = []
    work_orders: dict[str, OpenWorkOrder] = {}
    # Work orders that cannot be planned here, with the reason: reported with the plan, never dropped unsaid.
    unknown: dict[str, str] = {}
    for wo in snapshot.work_orders:
        operations = [
            _frozen_by_zone(freeze.get((wo.work_order_id, op.seq)), plant, snapshot, wo, op, origin, known)
            or _operation(plant, snapshot, wo, op, origin, repairs, known)
            for op in wo.operations
        ]
        missing = [op for op, built in zip(wo.operations, operations, strict=True) if built is None]
        if missing:
            unknown[wo.work_order_id] = "; ".join(
                f"operation {op.seq} names no machine of this plant (eligible: {', '.join(op.eligible_machines)})"
                for op in missing
            )
            continue
        work_orders[wo.work_order_id] = wo
        jobs.append(
            Job(
                id=wo.work_order_id,
                operations=tuple(op for op in operations if op is not None),
                release=max(0, minutes(wo.release - origin)) if wo.release else 0,
                due=minutes(wo.due - origin),
                # rush orders are planned first: their lateness weighs RUSH_WEIGHT times their priority
                weight=wo.priority * (RUSH_WEIGHT if wo.rush else 1),
                rush=wo.rush,
                reserve_eligible=reserve_eligible(plant, wo.rush, wo.customer_id, wo.margin_pct),
            )
        )
    horizon_end = origin + timedelta(days=horizon_days)
    unavailability = calendar_gaps(plant, origin, horizon_end) + [
        Unavailability(
            machine=m, start=0, end=max(1, math.ceil((end - origin).total_seconds() / 60)), reason="breakdown"
        )
        for m, end in sorted(repairs.items())
    ]
    rule = plant.rules.rush_reserve
    share = rule.share
    reserves = tuple(
        RushReserve(workcenter=wc.id, machines=tuple(wc.machine_ids), share=share)
        for wc in plant.bottleneck_workcenters()
        if share > 0
    )
    local_midnight = origin.astimezone(plant.zone).replace(hour=0, minute=0, second=0, microsecond=0)
    problem = Problem(
        name=f"{plant.site_id}@{origin.isoformat()}",
        machines=machines,
        jobs=tuple(jobs),
        unavailability=tuple(unavailability),
        reserves=reserves,
        previous=_previous(snapshot, origin, jobs),
        day_origin=min(0, minutes(local_midnight - origin)),
        unattended=tuple(m for wc in plant.workcenters if wc.runs_unattended for m in wc.machine_ids if m in known),
        reserve_fence=math.ceil(rule.release_fence_h * 60),
    )
    # An operation that fits no working time within the horizon cannot be planned: its work order is
    # reported with the reason and left out, so that the rest of the plant still gets a plan.
    unplanned = spans.unplannable(problem, minutes(horizon_end - origin))
    if unplanned:
        problem = problem.model_copy(
            update={
                "jobs": tuple(j for j in problem.jobs if j.id not in unplanned),
                "previous": tuple(p for p in problem.previous if p.job not in unplanned),
            }
        )
        work_orders = {k: v for k, v in work_orders.items() if k not in unplanned}
    return PlanInput(problem, origin, work_orders, repairs, {**unknown, **unplanned})


def _operation(
    plant: Plant,
    snapshot: Snapshot,
    wo: OpenWorkOrder,
    op: OpenOperation,
    origin: datetime,
    repairs: dict[str, datetime],
    known: set[str],
) -> Operation | None:
    unit_min, setup_min = _times(snapshot, wo.product_id, op)
    eligible = [m for m in op.eligible_machines if m in known]
    try:
        may_pause = plant.workcenter(op.workcenter_id).may_pause
    except KeyError:
        may_pause = False
    if op.started and op.machine_id is not None and op.machine_id in known:
        # A started operation without its start time (a lost wo.started) is taken as started now.
        actual_start = op.actual_start or origin
        remaining = max(0, wo.quantity - op.good)
        # Work resumes once the machine is back; the remaining pieces take their unit time.
        resume = max(origin, repairs.get(op.machine_id, origin))
        end = minutes(resume - origin) + max(1, math.ceil(unit_min * remaining))
        start = min(minutes(actual_start - origin), end)
        durations = {m: operation_minutes(setup_min, unit_min, remaining) for m in eligible}
        durations[op.machine_id] = end - start
        return Operation(seq=op.seq, durations=durations, frozen=Placement(machine=op.machine_id, start=start, end=end))
    if not eligible:
        return None
    durations = {m: operation_minutes(setup_min, unit_min, wo.quantity) for m in eligible}
    return Operation(seq=op.seq, durations=durations, may_pause=may_pause)


def _freeze_zone(
    snapshot: Snapshot, origin: datetime, window_min: float, repairs: dict[str, datetime]
) -> dict[tuple[str, int], PlannedOp]:
    """Planned operations of the current plan starting within the freeze window (not on a broken-down
    machine): the floor is about to start them, so they stay where they are, like started ones."""
    if snapshot.current is None or window_min <= 0:
        return {}
    fence = origin + timedelta(minutes=window_min)
    return {
        p.key: p
        for p in snapshot.current.ops
        if not p.frozen and origin <= p.start < fence and p.machine_id not in repairs
    }


def _frozen_by_zone(
    planned: PlannedOp | None,
    plant: Plant,
    snapshot: Snapshot,
    wo: OpenWorkOrder,
    op: OpenOperation,
    origin: datetime,
    known: set[str],
) -> Operation | None:
    """The operation frozen at its planned place, if it is in the freeze zone and still plannable there."""
    if planned is None or op.started or planned.machine_id not in set(op.eligible_machines) & known:
        return None
    plain = _operation(plant, snapshot, wo, op, origin, {}, known)
    if plain is None:
        return None
    start, end = minutes(planned.start - origin), minutes(planned.end - origin)
    durations = {**plain.durations, planned.machine_id: end - start}
    return plain.model_copy(
        update={"durations": durations, "frozen": Placement(machine=planned.machine_id, start=start, end=end)}
    )


def calendar_gaps(plant: Plant, origin: datetime, end: datetime) -> list[Unavailability]:
    """Each machine's non-working time within the horizon: off-shift time and holidays (`off_shift`: an
    unattended machine runs on through it) and planned maintenance (never worked through)."""
    out: list[Unavailability] = []
    for machine in plant.all_machines():
        calendar_id = plant.workcenter_of(machine.id).calendar_id
        off = _gaps(plant.working_intervals(calendar_id, origin, end), origin, end)
        for start, stop in off:
            out.append(Unavailability(machine=machine.id, start=start, end=stop, reason="calendar", off_shift=True))
        for gap in _gaps(plant.machine_intervals(machine.id, origin, end), origin, end):
            for start, stop in model_calendar.subtract(gap, off):
                out.append(Unavailability(machine=machine.id, start=start, end=stop, reason="maintenance"))
    return [u for u in out if u.end > u.start]


def _gaps(working: list[tuple[datetime, datetime]], origin: datetime, end: datetime) -> list[tuple[int, int]]:
    """The complement of working intervals within [origin, end), in plan minutes (working time rounded inward)."""
    out: list[tuple[int, int]] = []
    cursor = origin
    for start, stop in working:
        if start > cursor:
            out.append((minutes(cursor - origin), _ceil_min(start - origin)))
        cursor = max(cursor, stop)
    if cursor < end:
        out.append((minutes(cursor - origin), _ceil_min(end - origin)))
    return [(a, b) for a, b in out if b > a]


def _ceil_min(delta: timedelta) -> int:
    return math.ceil(delta.total_seconds() / 60)


def _previous(snapshot: Snapshot, origin: datetime, jobs: list[Job]) -> tuple[ScheduledOp, ...]:
    """The current plan in this origin's minutes, for the operations still to plan (the solver's hint)."""
    if snapshot.current is None:
        return ()
    plannable = {(j.id, op.seq): op for j in jobs for op in j.operations if op.frozen is None}
    out = []
    for p in snapshot.current.ops:
        op = plannable.get(p.key)
        start = minutes(p.start - origin)
        if op is None or start < 0 or p.machine_id not in op.durations:
            continue
        out.append(
            ScheduledOp(
                job=p.work_order_id,
                seq=p.seq,
                machine=p.machine_id,
                start=start,
                end=start + op.durations[p.machine_id],
            )
        )
    return tuple(out)


def to_planned(plan_input: PlanInput, ops: list[ScheduledOp] | tuple[ScheduledOp, ...]) -> list[PlannedOp]:
    frozen = {(j.id, op.seq) for j, op in plan_input.problem.operations() if op.frozen is not None}
    o = plan_input.origin
    return [PlannedOp(s.job, s.seq, s.machine, at(o, s.start), at(o, s.end), s.key in frozen) for s in ops]
