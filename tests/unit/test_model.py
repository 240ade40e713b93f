"""The CP-SAT model: benchmark optima, frozen work, rush reserve, stability, callbacks, infeasibility."""

from __future__ import annotations

import pytest

from rescheduler.dispatch import Rule, best_rule_plan, dispatch
from rescheduler.instances import DATA_DIR, load
from rescheduler.instances.orderbook import generate
from rescheduler.instances.scenario import breakdown
from rescheduler.model import (
    Job,
    NoSolutionError,
    Operation,
    Problem,
    RushReserve,
    Solution,
    SolveParams,
    SolveStatus,
    check,
    metrics,
    solve,
)
from rescheduler.model.solution import moved_ops

pytestmark = pytest.mark.unit

BENCHMARKS = DATA_DIR
MAKESPAN = SolveParams(objective="makespan", time_limit_s=20)


def test_ft06_solves_to_its_optimum_55() -> None:
    problem = load(BENCHMARKS / "jssp" / "ft06.txt", "jssp")
    solution = solve(problem, MAKESPAN)
    assert check(problem, solution) == []
    assert solution.makespan == 55
    assert solution.status == SolveStatus.OPTIMAL
    assert solution.bounds["makespan"] == 55


def test_mk01_flexible_solves_to_its_optimum_40() -> None:
    problem = load(BENCHMARKS / "fjsp" / "mk01.fjs", "fjsp")
    solution = solve(problem, MAKESPAN)
    assert check(problem, solution) == []
    assert solution.makespan == 40


def _one_machine(jobs: list[tuple[str, int, int, bool]], *, reserve: bool = True) -> Problem:
    """Jobs (id, minutes, due, reserve_eligible) on bottleneck H1 with 100-minute days."""
    return Problem(
        machines=("H1",),
        jobs=tuple(
            Job(id=i, due=due, rush=elig, reserve_eligible=elig, operations=(Operation(seq=0, durations={"H1": d}),))
            for i, d, due, elig in jobs
        ),
        reserves=(RushReserve(workcenter="heading", machines=("H1",), share=0.15),) if reserve else (),
        day_minutes=100,
    )


def test_rush_reserve_holds_back_15_percent_from_normal_jobs() -> None:
    normal = [("a", 30, 100, False), ("b", 30, 100, False), ("c", 30, 100, False)]  # 90 > 85 of day 0
    free = solve(_one_machine(normal, reserve=False), SolveParams(time_limit_s=5))
    assert free.total_weighted_tardiness == 0  # without the reserve all three fit in day 0
    held = _one_machine(normal)
    solution = solve(held, SolveParams(time_limit_s=5))
    assert check(held, solution) == []
    assert sum(op.end - op.start for op in solution.ops if op.end <= 100) <= 85
    assert solution.total_weighted_tardiness > 0  # one normal job had to wait for day 1


def test_reserve_eligible_rush_job_uses_the_reserve() -> None:
    jobs = [("a", 50, 100, False), ("b", 35, 100, False), ("rush", 15, 100, True)]
    eligible = _one_machine(jobs)
    solution = solve(eligible, SolveParams(time_limit_s=5))
    assert check(eligible, solution) == []
    assert solution.total_weighted_tardiness == 0  # 85 normal + 15 rush fill day 0 exactly
    not_eligible = _one_machine([*jobs[:2], ("rush", 15, 100, False)])
    assert solve(not_eligible, SolveParams(time_limit_s=5)).total_weighted_tardiness > 0


def test_no_plan_raises_with_the_solver_status() -> None:
    problem = _one_machine([("too-long", 90, 100, False)])  # a normal op longer than 85% of any day
    with pytest.raises(NoSolutionError) as err:
        solve(problem, SolveParams(time_limit_s=5))
    assert err.value.status == "INFEASIBLE"
    with pytest.raises(NoSolutionError):
        dispatch(problem, Rule.EDD)


def test_solver_beats_or_matches_every_rule_and_reports_every_stage() -> None:
    book = generate(80, seed=5)
    seen: list[Solution] = []
    solution = solve(book, SolveParams(time_limit_s=4), on_solution=seen.append)
    assert check(book, solution) == []
    best = best_rule_plan(book)
    assert best is not None
    assert solution.total_weighted_tardiness <= best.total_weighted_tardiness
    assert set(solution.objectives) == {"tardiness", "makespan"}
    assert solution.objectives["tardiness"] == solution.total_weighted_tardiness
    assert seen and all(check(book, s) == [] for s in seen)  # intermediate plans are usable plans


def test_large_books_use_the_neighbourhood_search_and_stay_valid() -> None:
    book = generate(160, seed=4, tightness=0.7)
    start = best_rule_plan(book)
    assert start is not None and start.total_weighted_tardiness > 0
    seen: list[Solution] = []
    solution = solve(book, SolveParams(time_limit_s=4, lns_min_ops=150), on_solution=seen.append)
    assert check(book, solution) == []
    assert solution.total_weighted_tardiness <= start.total_weighted_tardiness
    assert len(seen) >= 2 and seen[0].solver in {r.value for r in Rule}  # the start plan comes first
    assert all(check(book, s) == [] for s in seen)


@pytest.fixture(scope="module")
def breakdown_case() -> tuple[Problem, Solution]:
    book = generate(90, seed=2)
    plan = solve(book, SolveParams(time_limit_s=3))
    return breakdown(book, plan, now=6 * 60, machine="HEAD1", minutes=5 * 60), plan


@pytest.mark.parametrize("lns_min_ops", [10_000, 50], ids=["full-model", "neighbourhood-search"])
def test_frozen_operations_never_move_across_a_replan(
    breakdown_case: tuple[Problem, Solution], lns_min_ops: int
) -> None:
    problem, _ = breakdown_case
    frozen = {(j.id, op.seq): op.frozen for j, op in problem.operations() if op.frozen is not None}
    assert frozen  # work had started by the breakdown
    replan = solve(problem, SolveParams(time_limit_s=3, lns_min_ops=lns_min_ops))
    assert check(problem, replan) == []
    placed = replan.by_key()
    for key, at in frozen.items():
        assert at is not None
        assert (placed[key].machine, placed[key].start, placed[key].end) == (at.machine, at.start, at.end)
    assert all(op.start >= 5 * 60 for op in replan.ops if op.machine == "HEAD1" and op.key not in frozen)


def test_stability_stage_moves_fewer_operations_than_from_scratch(breakdown_case: tuple[Problem, Solution]) -> None:
    problem, _ = breakdown_case
    stable = solve(problem, SolveParams(time_limit_s=4))
    scratch = solve(problem.model_copy(update={"previous": ()}), SolveParams(time_limit_s=4))
    assert check(problem, stable) == [] and check(problem, scratch) == []
    assert "stability" in stable.objectives
    assert len(stable.moved) == metrics(problem, stable).moved
    assert len(stable.moved) < len(moved_ops(problem, scratch.ops))
