"""The plant's rush-reserve rule (issue 19): only eligible rush orders use the reserve, other rush orders
come first inside the normal capacity, unused reserve is released inside the time fence, and the plan
says how much reserve each bottleneck day has left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rescheduler.dispatch import best_rule_plan
from rescheduler.model import Job, Operation, Problem, RushReserve, SolveParams, ViolationKind, calendar, check, solve
from rescheduler.service.build import RUSH_WEIGHT, build_input
from rescheduler.service.snapshot import OpenOperation, OpenWorkOrder, Snapshot
from shopfloor.plant import Plant, load_plant
from tests.rescheduler_support.seed import DEMO_PLANT

pytestmark = pytest.mark.unit

PARAMS = SolveParams(time_limit_s=10, num_workers=1, random_seed=1)


def _day(jobs: list[tuple[str, int, int, bool]], fence: int = 0) -> Problem:
    """Jobs (id, minutes, due, reserve_eligible) on bottleneck H1 with 100-minute days."""
    return Problem(
        machines=("H1",),
        jobs=tuple(
            Job(id=i, due=due, rush=elig, reserve_eligible=elig, operations=(Operation(seq=0, durations={"H1": d}),))
            for i, d, due, elig in jobs
        ),
        reserves=(RushReserve(workcenter="heading", machines=("H1",), share=0.15),),
        day_minutes=100,
        reserve_fence=fence,
    )


def test_unused_reserve_is_released_to_normal_work_inside_the_fence() -> None:
    normal = [("a", 30, 100, False), ("b", 30, 100, False), ("c", 30, 100, False)]  # 90 > 85 of day 0
    held = solve(_day(normal), PARAMS)
    assert held.total_weighted_tardiness > 0  # without a fence one normal job waits for day 1
    problem = _day(normal, fence=100)
    released = solve(problem, PARAMS)
    assert check(problem, released) == [] and released.total_weighted_tardiness == 0
    rule = best_rule_plan(problem)
    assert rule is not None and rule.total_weighted_tardiness == 0
    # past the fence the reserve holds again: day 1 keeps 15 minutes back
    later = _day([(j, d, 200, e) for j, d, _, e in normal] + [("d", 30, 200, False)], fence=100)
    down = calendar.unavailable(later)
    assert calendar.reserve_limit(later, later.reserves[0], 0, down) == 100
    assert calendar.reserve_limit(later, later.reserves[0], 1, down) == 85


def test_the_plan_says_how_much_reserve_each_day_has_left() -> None:
    problem = _day([("a", 50, 100, False), ("r", 10, 100, True), ("b", 20, 300, False)])
    plan = solve(problem, PARAMS)
    assert check(problem, plan) == []
    left = {day: (held, free) for _, day, held, free in calendar.reserve_left(problem, plan.ops)}
    used0 = sum(op.end - op.start for op in plan.ops if op.start < 100)
    assert left[0] == (15, min(15, 100 - used0))
    assert all(held == 15 for held, _ in left.values())


def test_the_checker_rejects_a_reserve_eligible_order_that_is_not_rush() -> None:
    problem = Problem(
        machines=("H1",),
        jobs=(Job(id="x", reserve_eligible=True, operations=(Operation(seq=0, durations={"H1": 10}),)),),
        reserves=(RushReserve(workcenter="heading", machines=("H1",)),),
    )
    plan = solve(problem, PARAMS)
    assert [v.kind for v in check(problem, plan)] == [ViolationKind.RESERVE_ELIGIBILITY]


# --- the service: rush orders that may not use the reserve come first inside the normal capacity

NOW = datetime(2026, 3, 2, 0, 0, 30, tzinfo=UTC)  # Monday 08:00 in Ningbo


@pytest.fixture(scope="module")
def plant() -> Plant:
    return load_plant(DEMO_PLANT)


def _order(wo_id: str, *, rush: bool, minutes: float, due_h: float) -> OpenWorkOrder:
    heading = OpenOperation(2, "WC-HEAD", ("H1",), 0, minutes / 1000, "pending", None, None, 0)
    return OpenWorkOrder(
        work_order_id=wo_id,
        order_id=f"O-{wo_id}",
        customer_id="CUST-001",
        product_id="HB-M8x30",
        quantity=1000,
        due=NOW + timedelta(hours=due_h),
        order_due=NOW + timedelta(hours=due_h),
        priority=3,
        rush=rush,
        release=None,
        margin_pct=None,
        operations=(heading,),
    )


def test_an_ineligible_rush_order_comes_first_but_inside_the_normal_capacity(plant: Plant) -> None:
    # Both need H1 for 5 h and are due in 6 h: only one can be on time; the rush one (CUST-001 is not
    # strategic, no margin) may not use the reserve, but it is planned first.
    snapshot = Snapshot(
        [_order("WO-A", rush=False, minutes=300, due_h=6), _order("WO-R", rush=True, minutes=300, due_h=6)]
    )
    problem = build_input(plant, snapshot, NOW, horizon_days=3).problem
    by_id = {j.id: j for j in problem.jobs}
    assert not by_id["WO-R"].reserve_eligible and by_id["WO-R"].weight == RUSH_WEIGHT * by_id["WO-A"].weight
    plan = solve(problem, PARAMS)
    assert check(problem, plan) == []
    late = {j.job for j in plan.jobs if j.tardiness > 0}
    assert late == {"WO-A"}
