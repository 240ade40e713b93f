"""Plant-scale solving (issue 19): a serial-insertion start plan at once, then the neighbourhood search
on small local models; every plan valid. Wall-clock figures are the benchmark's, not asserted here."""

from __future__ import annotations

import time

import pytest

from rescheduler.insertion import ORDERS, best_insertion_plan, insert_all
from rescheduler.instances.orderbook import generate
from rescheduler.model import Problem, Solution, SolveParams, SolveStatus, build_solution, check, solve
from rescheduler.model.build import build, safe_horizon
from rescheduler.model.lns import improve

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def book() -> Problem:
    return generate(300, seed=3)


def test_every_insertion_order_gives_a_valid_plan(book: Problem) -> None:
    for name in ORDERS:
        plan = insert_all(book, name)
        assert check(book, plan) == [] and len(plan.ops) == book.op_count()
    best = best_insertion_plan(book)
    assert best is not None
    assert best.total_weighted_tardiness == min(insert_all(book, n).total_weighted_tardiness for n in ORDERS)


def test_a_large_problem_starts_from_an_insertion_plan_and_only_improves(book: Problem) -> None:
    seen: list[Solution] = []
    params = SolveParams(time_limit_s=4, num_workers=1, random_seed=2, large_ops=100)
    final = solve(book, params, on_solution=seen.append)
    assert seen[0].solver.startswith("insert-")  # the first plan is the fast one, not the dispatch rules
    assert check(book, final) == []
    tardiness = [p.total_weighted_tardiness for p in seen]
    assert tardiness == sorted(tardiness, reverse=True)  # each reported plan is at least as good
    assert final.total_weighted_tardiness <= seen[0].total_weighted_tardiness


def test_a_neighbourhood_models_only_jobs_with_free_operations(book: Problem) -> None:
    plan = insert_all(book, "edd")
    free_job = book.jobs[0].id
    fixed = {op.key: op for op in plan.ops if op.job != free_job}
    horizon = min(safe_horizon(book), plan.makespan * 2)
    built = build(book, horizon, with_stability=False, move_cost=0, fixed=fixed, bounds={})
    assert [j.id for j in built.jobs] == [free_job] and set(built.late) <= {free_job}
    assert {key[0] for key in built.starts} == {free_job}


def test_a_stable_replan_puts_moved_operations_back_within_the_tolerance(book: Problem) -> None:
    previous = insert_all(book, "edd")
    problem = book.model_copy(update={"previous": previous.ops})
    other = build_solution(problem, list(insert_all(book, "slack").ops), solver="x", status=SolveStatus.FEASIBLE)
    assert len(other.moved) > 50  # a different plan: most operations elsewhere
    horizon = min(safe_horizon(book), max(previous.makespan, other.makespan) * 2)
    # a generous tolerance: any plan within 10x of the least tardiness counts as good, so moves decide
    restored = improve(
        problem,
        other,
        horizon=horizon,
        deadline=time.perf_counter() + 120,
        num_workers=1,
        stable=True,
        tolerance=10.0,
        max_rounds=40,
    )
    assert check(problem, restored) == []
    assert len(restored.moved) < len(other.moved) * 3 // 4
    floor = min(previous.total_weighted_tardiness, other.total_weighted_tardiness)
    assert restored.total_weighted_tardiness <= 11 * max(floor, 1) or restored.total_weighted_tardiness <= (
        other.total_weighted_tardiness
    )
