"""Rush-order what-if: which accepted orders would become late, and by how much, if a proposed rush order
were accepted. The current plan's problem is solved again with the proposal's jobs added (the current
plan as the stability reference), and each order's completion compared with the current plan's. Nothing
is written: the answer is for sales on the phone, not a plan."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field

from rescheduler.model import Job, Operation, ScheduledOp, SolveParams, solve
from rescheduler.service.build import RUSH_WEIGHT, at, minutes, operation_minutes, reserve_eligible
from rescheduler.service.promise import PlanContext, UnknownReferenceError
from shopfloor.events import Ident, Model, UtcDatetime
from shopfloor.plant import Plant


class WhatIfLine(Model):
    product_id: Ident
    quantity: Annotated[int, Field(gt=0, le=100_000_000)]


class WhatIfRequest(Model):
    """A proposed order (``lines``), or a date change: ``order_id`` (an accepted order) due at ``due_date``."""

    customer_id: Ident
    lines: Annotated[list[WhatIfLine], Field(max_length=20)] = Field(default_factory=list)
    order_id: Ident | None = None
    due_date: UtcDatetime
    priority: Annotated[int, Field(ge=1, le=5)] = 5
    rush: bool = True
    margin_pct: Annotated[float, Field(ge=-100, le=100)] | None = None


class LateOrder(Model):
    order_id: str
    due_date: UtcDatetime
    completion_now: UtcDatetime
    completion_if_accepted: UtcDatetime
    late_by_hours: float


class WhatIfResponse(Model):
    plan_id: str
    # When the proposed order would be complete in that replan.
    proposal_completion: UtcDatetime
    # Orders on time in the current plan that would be late (by how much), latest first.
    would_become_late: list[LateOrder]
    solver_status: str


def _completions(context: PlanContext, ops: list[ScheduledOp] | tuple[ScheduledOp, ...]) -> dict[str, datetime]:
    ends: dict[str, int] = defaultdict(int)
    for op in ops:
        wo = context.plan_input.work_orders.get(op.job)
        if wo is not None:
            ends[wo.order_id] = max(ends[wo.order_id], op.end)
    return {order: at(context.plan_input.origin, end) for order, end in ends.items()}


def what_if(
    plant: Plant, context: PlanContext, request: WhatIfRequest, now: datetime, time_limit_s: float
) -> WhatIfResponse:
    try:
        plant.customer(request.customer_id)
    except KeyError:
        raise UnknownReferenceError(f"unknown customer {request.customer_id!r}") from None
    problem = context.plan_input.problem
    origin = context.plan_input.origin
    machines = set(problem.machines)
    ready = max(0, math.ceil((now - origin).total_seconds() / 60))
    eligible = reserve_eligible(plant, request.rush, request.customer_id, request.margin_pct)
    if not request.lines and request.order_id is None:
        raise UnknownReferenceError("a what-if needs lines (a new order) or an order_id (a date change)")
    jobs = []
    for i, line in enumerate(request.lines, start=1):
        try:
            routing = plant.routing(line.product_id)
        except KeyError:
            raise UnknownReferenceError(f"unknown product {line.product_id!r}") from None
        operations = []
        for spec in routing:
            unit, setup = context.standard_times.get((line.product_id, spec.seq), (spec.unit_min, spec.setup_min))
            durations = {
                m: operation_minutes(setup, unit, line.quantity) for m in spec.eligible_machines if m in machines
            }
            try:
                may_pause = plant.workcenter(spec.workcenter_id).may_pause
            except KeyError:
                may_pause = False
            operations.append(Operation(seq=spec.seq, durations=durations, may_pause=may_pause))
        jobs.append(
            Job(
                id=f"what-if-{i}",
                operations=tuple(operations),
                release=ready,
                due=minutes(request.due_date - origin),
                # Weighed as a replan would weigh the accepted order (build_input): rush orders go first.
                weight=request.priority * (RUSH_WEIGHT if request.rush else 1),
                rush=request.rush,
                reserve_eligible=eligible,
            )
        )
    existing = list(problem.jobs)
    if request.order_id is not None:
        wos = {w for w, wo in context.plan_input.work_orders.items() if wo.order_id == request.order_id}
        if not wos:
            raise UnknownReferenceError(f"order {request.order_id!r} is not in the current plan")
        due_at = minutes(request.due_date - origin)
        existing = [j.model_copy(update={"due": due_at}) if j.id in wos else j for j in existing]
    current = context.scheduled()
    with_proposal = problem.model_copy(update={"jobs": (*existing, *jobs), "previous": tuple(current)})
    solution = solve(with_proposal, SolveParams(time_limit_s=time_limit_s, num_workers=2))
    before = _completions(context, current)
    after = _completions(context, solution.ops)
    due = {wo.order_id: wo.order_due for wo in context.plan_input.work_orders.values()}
    late = [
        LateOrder(
            order_id=order_id,
            due_date=due[order_id],
            completion_now=before[order_id],
            completion_if_accepted=end,
            late_by_hours=round((end - due[order_id]) / timedelta(hours=1), 2),
        )
        for order_id, end in after.items()
        if order_id in before
        and order_id != request.order_id
        and end > due[order_id]
        and before[order_id] <= due[order_id]
    ]
    if request.order_id is not None and not jobs:
        proposal = after[request.order_id]
    else:
        proposal = at(origin, max(op.end for op in solution.ops if op.job.startswith("what-if-")))
    return WhatIfResponse(
        plan_id=context.plan_id,
        proposal_completion=proposal,
        would_become_late=sorted(late, key=lambda o: -o.late_by_hours),
        solver_status=solution.status.value,
    )
