"""Operations longer than a day or than every working window: they plan, the reserve counts them per day,
and a work order that truly cannot be planned is reported while the rest is planned (issue 19)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rescheduler.dispatch import best_rule_plan
from rescheduler.model import (
    Job,
    Operation,
    Problem,
    RushReserve,
    ScheduledOp,
    SolveParams,
    SolveStatus,
    Unavailability,
    ViolationKind,
    build_solution,
    calendar,
    check,
    solve,
)
from rescheduler.service.build import build_input
from rescheduler.service.snapshot import OpenOperation, OpenWorkOrder, Snapshot
from shopfloor.plant import Plant, load_plant
from tests.rescheduler_support.seed import DEMO_PLANT

pytestmark = pytest.mark.unit

PARAMS = SolveParams(time_limit_s=10, num_workers=1, random_seed=1)


def _reserved(machines: tuple[str, ...]) -> Problem:
    return Problem(
        machines=("H1", "H2"),
        jobs=(
            Job(id="long", due=3000, operations=(Operation(seq=0, durations={"H1": 2000}),)),
            Job(id="short", due=100, operations=(Operation(seq=0, durations={m: 60 for m in machines}),)),
        ),
        reserves=(RushReserve(workcenter="heading", machines=machines, share=0.15),),
    )


@pytest.mark.parametrize("machines", [("H1",), ("H1", "H2")])
def test_a_2000_minute_operation_on_a_reserved_workcenter_plans(machines: tuple[str, ...]) -> None:
    problem = _reserved(machines)
    solution = solve(problem, PARAMS)
    assert check(problem, solution) == []
    long = solution.by_key()[("long", 0)]
    assert long.end - long.start == 2000
    # the reserve counts it in each day it spans: no day's normal work exceeds 85%
    (reserve,) = problem.reserves
    down = calendar.unavailable(problem)
    for day in calendar.days_until(problem, solution.makespan):
        used = calendar.reserve_usage(problem, reserve, day, solution.ops, {"long", "short"}, down)
        assert used <= calendar.reserve_limit(problem, reserve, day, down)
    rule = best_rule_plan(problem)
    assert rule is not None and check(problem, rule) == []


def _shifts(machine: str, days: int, *, maintenance: tuple[int, int] | None = None) -> list[Unavailability]:
    """Working 06:00-22:00 each day (960 minutes), off-shift otherwise; optional maintenance."""
    out = [Unavailability(machine=machine, start=0, end=360, off_shift=True)]
    out += [
        Unavailability(machine=machine, start=d * 1440 + 1320, end=(d + 1) * 1440 + 360, off_shift=True)
        for d in range(days)
    ]
    if maintenance is not None:
        out.append(Unavailability(machine=machine, start=maintenance[0], end=maintenance[1], reason="maintenance"))
    return out


def test_an_operation_that_may_pause_resumes_after_off_shift_time() -> None:
    problem = Problem(
        machines=("F1",),
        jobs=(Job(id="batch", due=10_000, operations=(Operation(seq=0, durations={"F1": 2000}, may_pause=True),)),),
        unavailability=tuple(_shifts("F1", 5)),
    )
    solution = solve(problem, PARAMS)
    assert check(problem, solution) == []
    (op,) = solution.ops
    # 06:00-22:00 on day 0 (960), day 1 (960), then 80 minutes on day 2
    assert (op.start, op.end) == (360, 2 * 1440 + 360 + 80)
    # a fixed placement ignoring the pause is a violation; so is starting in off-shift time
    bad = build_solution(
        problem,
        [ScheduledOp(job="batch", seq=0, machine="F1", start=0, end=2000)],
        solver="t",
        status=SolveStatus.FEASIBLE,
    )
    assert {v.kind for v in check(problem, bad)} >= {ViolationKind.UNAVAILABLE}


def test_an_unattended_machine_runs_on_through_off_shift_but_not_through_maintenance() -> None:
    problem = Problem(
        machines=("F1",),
        jobs=(Job(id="batch", due=10_000, operations=(Operation(seq=0, durations={"F1": 2000}),)),),
        unavailability=tuple(_shifts("F1", 6, maintenance=(1440 + 600, 1440 + 700))),
        unattended=("F1",),
    )
    solution = solve(problem, PARAMS)
    assert check(problem, solution) == []
    (op,) = solution.ops
    assert op.end - op.start == 2000 and op.start >= 1440 + 700  # not through the maintenance on day 1
    assert best_rule_plan(problem) is not None
    through = build_solution(
        problem,
        [ScheduledOp(job="batch", seq=0, machine="F1", start=360, end=2360)],
        solver="t",
        status=SolveStatus.FEASIBLE,
    )
    assert [v.kind for v in check(problem, through)] == [ViolationKind.UNAVAILABLE]


# --- the service: the demo plant, heading (a bottleneck with a reserve, three shifts Monday to Saturday)

NOW = datetime(2026, 3, 2, 0, 0, 30, tzinfo=UTC)  # Monday 08:00 in Ningbo


@pytest.fixture(scope="module")
def plant() -> Plant:
    return load_plant(DEMO_PLANT)


def _order(wo_id: str, heading_min: float) -> OpenWorkOrder:
    heading = OpenOperation(2, "WC-HEAD", ("H1", "H2"), 0, heading_min / 1000, "pending", None, None, 0)
    return OpenWorkOrder(
        work_order_id=wo_id,
        order_id=f"O-{wo_id}",
        customer_id="CUST-001",
        product_id="HB-M8x30",
        quantity=1000,
        due=NOW + timedelta(days=20),
        order_due=NOW + timedelta(days=20),
        priority=2,
        rush=False,
        release=None,
        margin_pct=None,
        operations=(heading,),
    )


def test_service_plans_a_2000_minute_heading_operation_beside_a_short_one(plant: Plant) -> None:
    snapshot = Snapshot([_order("WO-LONG", 2000), _order("WO-SHORT", 60)])
    plan_input = build_input(plant, snapshot, NOW, horizon_days=14)
    assert plan_input.unplanned == {}
    solution = solve(plan_input.problem, PARAMS)
    assert check(plan_input.problem, solution) == []
    assert {op.job for op in solution.ops} == {"WO-LONG", "WO-SHORT"}


def test_a_work_order_longer_than_every_window_is_reported_and_the_rest_planned(plant: Plant) -> None:
    # 10,000 minutes: longer than a Monday-to-Saturday week of three shifts (8,640)
    snapshot = Snapshot([_order("WO-HUGE", 10_000), _order("WO-SHORT", 60)])
    plan_input = build_input(plant, snapshot, NOW, horizon_days=14)
    assert set(plan_input.unplanned) == {"WO-HUGE"}
    assert "may not pause" in plan_input.unplanned["WO-HUGE"]
    assert [j.id for j in plan_input.problem.jobs] == ["WO-SHORT"]
    solution = solve(plan_input.problem, PARAMS)
    assert check(plan_input.problem, solution) == [] and len(solution.ops) == 1
    # where the plant says heading may pause, it is planned across the Sunday
    data = plant.model_dump()
    for wc in data["workcenters"]:
        wc["may_pause"] = wc["id"] == "WC-HEAD"
    paused_plant = Plant.model_validate(data)
    plan_input = build_input(paused_plant, snapshot, NOW, horizon_days=14)
    assert plan_input.unplanned == {}
    solution = solve(plan_input.problem, PARAMS)
    assert check(plan_input.problem, solution) == []
    huge = solution.by_key()[("WO-HUGE", 2)]
    assert huge.end - huge.start > 10_000  # it paused over non-working time
