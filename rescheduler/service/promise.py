"""Capable-to-promise against the current plan: request and answer models, and the plant-aware wrapper."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field

from rescheduler.ctp import insert_job
from rescheduler.model import Job, Operation, Problem, ScheduledOp
from rescheduler.service.build import PlanInput, at, calendar_gaps, minutes, operation_minutes, reserve_eligible
from rescheduler.service.plan import PlannedOp
from shopfloor.events import Ident, Model, UtcDatetime
from shopfloor.plant import Plant

# How far beyond now a promise is searched for.
SEARCH_DAYS = 365
# Calendars reach this far past the search limit, so the last operations of a promise see shifts too.
CALENDAR_MARGIN_DAYS = 30
_CALENDARS: dict[tuple[str, int], Problem] = {}


class UnknownReferenceError(LookupError):
    """The request names a product or customer the plant does not know."""


class CtpRequest(Model):
    product_id: Ident
    quantity: Annotated[int, Field(gt=0, le=100_000_000)]
    customer_id: Ident
    rush: bool = False
    margin_pct: Annotated[float, Field(ge=-100, le=100)] | None = None
    # When the material will be there; absent means it is in stock.
    material_ready: UtcDatetime | None = None


class CtpOperation(Model):
    seq: int
    workcenter_id: str
    machine_id: str
    start: UtcDatetime
    end: UtcDatetime


class CtpBottleneck(Model):
    workcenter_id: str
    workcenter_name: str
    machine_id: str
    waited_hours: float


class CtpResponse(Model):
    completion: UtcDatetime
    plan_id: str
    reserve_eligible: bool
    bottleneck: CtpBottleneck
    operations: list[CtpOperation]


@dataclass(frozen=True)
class PlanContext:
    """The current plan as the service holds it for promises and the API."""

    plan_id: str
    version: int
    created_at: datetime
    plan_input: PlanInput
    ops: list[PlannedOp]
    late_orders: list[str]
    standard_times: dict[tuple[str, int], tuple[float, float]] = field(default_factory=dict)

    def scheduled(self) -> list[ScheduledOp]:
        origin = self.plan_input.origin
        return [
            ScheduledOp(
                job=o.work_order_id,
                seq=o.seq,
                machine=o.machine_id,
                start=minutes(o.start - origin),
                end=minutes(o.end - origin),
            )
            for o in self.ops
        ]


def promise(plant: Plant, context: PlanContext, request: CtpRequest, now: datetime) -> CtpResponse:
    try:
        routing = plant.routing(request.product_id)
    except KeyError:
        raise UnknownReferenceError(f"unknown product {request.product_id!r}") from None
    try:
        plant.customer(request.customer_id)
    except KeyError:
        raise UnknownReferenceError(f"unknown customer {request.customer_id!r}") from None
    problem = context.plan_input.problem
    origin = context.plan_input.origin
    machines = set(problem.machines)
    operations = []
    for spec in routing:
        unit, setup = context.standard_times.get((request.product_id, spec.seq), (spec.unit_min, spec.setup_min))
        durations = {
            m: operation_minutes(setup, unit, request.quantity) for m in spec.eligible_machines if m in machines
        }
        operations.append(Operation(seq=spec.seq, durations=durations))
    eligible = reserve_eligible(plant, request.rush, request.customer_id, request.margin_pct)
    ready = max(0, math.ceil((now - origin).total_seconds() / 60))  # never in the past
    if request.material_ready is not None:
        ready = max(ready, math.ceil((request.material_ready - origin).total_seconds() / 60))
    job = Job(id="ctp-request", operations=tuple(operations), rush=request.rush, reserve_eligible=eligible)
    limit = ready + minutes(timedelta(days=SEARCH_DAYS))
    problem = _with_calendars_until(plant, context, limit + minutes(timedelta(days=CALENDAR_MARGIN_DAYS)))
    found = insert_job(problem, context.scheduled(), job, ready=ready, limit=limit)
    workcenter_of = {spec.seq: spec.workcenter_id for spec in routing}
    wc = workcenter_of[found.bottleneck.seq]
    return CtpResponse(
        completion=at(origin, found.completion),
        plan_id=context.plan_id,
        reserve_eligible=eligible,
        bottleneck=CtpBottleneck(
            workcenter_id=wc,
            workcenter_name=plant.workcenter(wc).name,
            machine_id=found.bottleneck.machine,
            waited_hours=round(found.waited / 60, 2),
        ),
        operations=[
            CtpOperation(
                seq=o.seq,
                workcenter_id=workcenter_of[o.seq],
                machine_id=o.machine,
                start=at(origin, o.start),
                end=at(origin, o.end),
            )
            for o in found.ops
        ],
    )


def _with_calendars_until(plant: Plant, context: PlanContext, end: int) -> Problem:
    """The plan's problem with the machines' calendars until `end` (minutes from the plan origin), not
    only over the planning horizon: a promise searches further, and past the horizon machines are not
    free around the clock. Breakdowns are kept as they are. Cached per plan (a day's resolution)."""
    days = -(-end // (24 * 60))
    key = (context.plan_id, days)
    cached = _CALENDARS.get(key)
    if cached is not None:
        return cached
    problem = context.plan_input.problem
    origin = context.plan_input.origin
    kept = [u for u in problem.unavailability if u.reason not in ("calendar", "maintenance")]
    gaps = calendar_gaps(plant, origin, origin + timedelta(days=days))
    extended = problem.model_copy(update={"unavailability": (*kept, *gaps)})
    _CALENDARS.clear()  # one plan is current at a time
    _CALENDARS[key] = extended
    return extended
