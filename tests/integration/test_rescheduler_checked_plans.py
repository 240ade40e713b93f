"""Every plan the service stores passed the checker; the plan records the reserve left per bottleneck
day and the work orders it could not include (issue 19), on the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rescheduler.model import ScheduledOp, Solution, SolveStatus, build_solution
from rescheduler.service.build import PlanInput
from rescheduler.service.replan import PlanRejectedError, Replanner
from rescheduler.settings import ReschedulerSettings
from shopfloor.db.pool import connect
from shopfloor.events import utcnow
from shopfloor.plant import Plant, load_plant
from shopfloor.settings import PostgresSettings
from tests.rescheduler_support.seed import DEMO_PLANT, OrderSpec, seed_order

pytestmark = pytest.mark.integration

SETTINGS = ReschedulerSettings(time_limit_s=3, num_workers=1)


@pytest.fixture(scope="module")
def plant() -> Plant:
    return load_plant(DEMO_PLANT)


def _everything_at_zero(plan_input: PlanInput, solver: str) -> Solution:
    """A broken plan: every operation of every job at minute 0 on its first eligible machine."""
    problem = plan_input.problem
    ops = [
        ScheduledOp(job=job.id, seq=op.seq, machine=m, start=0, end=d)
        for job, op in problem.operations()
        for m, d in list(op.durations.items())[:1]
    ]
    return build_solution(problem, ops, solver=solver, status=SolveStatus.FEASIBLE)


class BrokenPlanner(Replanner):
    """Whatever it searched, the plan it would store is broken (the checker must stop it)."""

    def _solve(self, plan_input: PlanInput) -> Solution:
        return _everything_at_zero(plan_input, "broken")


class BrokenSolver(Replanner):
    """CP-SAT's answer is broken: the service must fall back to the dispatch rules' checked plan."""

    def _search(self, plan_input: PlanInput) -> Solution:
        return _everything_at_zero(plan_input, "cp-sat")


def test_a_plan_failing_the_checker_is_never_stored_or_published(pg_settings: PostgresSettings, plant: Plant) -> None:
    now = utcnow()
    with connect(pg_settings) as conn:
        for i in range(3):
            seed_order(conn, plant, OrderSpec(f"C{i}", "HB-M8x30", 20_000, now + timedelta(days=3)))
        conn.commit()
        good = Replanner(plant, SETTINGS).replan(conn, "first", now=now)
        with pytest.raises(PlanRejectedError, match="violations"):
            BrokenPlanner(plant, SETTINGS).replan(conn, "broken", now=now)
        conn.rollback()
        plans = conn.execute("SELECT plan_id, is_current FROM schedule_plan ORDER BY version").fetchall()
        events = conn.execute("SELECT plan_id FROM plan_publication ORDER BY version").fetchall()
        fallback = BrokenSolver(plant, SETTINGS).replan(conn, "cp-sat broken", now=now)
        stored = conn.execute(
            "SELECT count(*) FROM scheduled_operation WHERE plan_id = %s", (fallback.plan_id,)
        ).fetchone()
    assert plans == [(good.plan_id, True)] and events == [(good.plan_id,)]
    # the fallback plan came from the rules and passed the checker; it was stored whole
    assert stored == (len(fallback.ops),) and len({(o.machine_id, o.start) for o in fallback.ops}) == len(fallback.ops)


def test_the_plan_records_reserve_left_and_what_it_could_not_plan(pg_settings: PostgresSettings, plant: Plant) -> None:
    now = utcnow()
    with connect(pg_settings) as conn:
        seed_order(conn, plant, OrderSpec("R1", "HB-M8x30", 20_000, now + timedelta(days=3)))
        # 400,000 pieces: heading alone takes 10,075 minutes, longer than a Monday-to-Saturday week of
        # three shifts, and heading may not pause: this work order cannot be planned at all
        seed_order(conn, plant, OrderSpec("HUGE", "HB-M8x30", 400_000, now + timedelta(days=30)))
        conn.commit()
        result = Replanner(plant, SETTINGS).replan(conn, "test", now=now)
        unplanned = conn.execute(
            "SELECT work_order_id, reason FROM plan_unplanned WHERE plan_id = %s", (result.plan_id,)
        ).fetchall()
        days = conn.execute(
            "SELECT workcenter_id, day_start, reserve_min, left_min FROM plan_reserve_day WHERE plan_id = %s"
            " ORDER BY workcenter_id, day_start",
            (result.plan_id,),
        ).fetchall()
    assert [wo for wo, _ in unplanned] == ["WO-HUGE"] and "fits in no working time" in unplanned[0][1]
    assert {o.work_order_id for o in result.ops} == {"WO-R1"}
    bottlenecks = {wc.id for wc in plant.bottleneck_workcenters()}
    assert days and {wc for wc, *_ in days} == bottlenecks
    fence = now + timedelta(hours=plant.rules.rush_reserve.release_fence_h)
    for _, day_start, reserve_min, left_min in days:
        assert 0 <= left_min <= reserve_min
        if day_start + timedelta(days=1) <= fence:
            assert reserve_min == 0  # inside the fence the reserve is released to normal work
    assert any(reserve_min > 0 for *_, reserve_min, _ in days)
