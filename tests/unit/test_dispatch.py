"""Dispatch-rule baselines produce checker-valid plans, honouring calendars, frozen work and the reserve."""

from __future__ import annotations

import pytest

from rescheduler.dispatch import Rule, best_rule_plan, dispatch, repair
from rescheduler.instances import DATA_DIR, load
from rescheduler.instances.orderbook import generate
from rescheduler.instances.scenario import breakdown
from rescheduler.model import Job, Operation, Problem, check, metrics
from rescheduler.model.solution import moved_ops

pytestmark = pytest.mark.unit

BENCHMARKS = DATA_DIR
BOOK = generate(120, seed=11)


@pytest.mark.parametrize("rule", list(Rule))
@pytest.mark.parametrize(
    "problem",
    [load(BENCHMARKS / "jssp" / "ft06.txt", "jssp"), load(BENCHMARKS / "fjsp" / "mk01.fjs", "fjsp"), BOOK],
    ids=["ft06", "mk01", "book"],
)
def test_every_rule_gives_a_valid_plan(problem: Problem, rule: Rule) -> None:
    plan = dispatch(problem, rule)
    assert check(problem, plan) == []
    assert plan.solver == rule.value
    assert len(plan.ops) == problem.op_count()


def test_rules_order_by_their_priority() -> None:
    # three one-operation jobs on one machine, all ready at 0
    problem = Problem(
        machines=("M",),
        jobs=(
            Job(id="long-early", due=60, operations=(Operation(seq=0, durations={"M": 50}),)),
            Job(id="short-late", due=200, operations=(Operation(seq=0, durations={"M": 5}),)),
            Job(id="mid", due=100, weight=5, operations=(Operation(seq=0, durations={"M": 20}),)),
        ),
    )
    order = {rule: [op.job for op in dispatch(problem, rule).ops] for rule in Rule}
    assert order[Rule.EDD] == ["long-early", "mid", "short-late"]
    assert order[Rule.SPT] == ["short-late", "mid", "long-early"]
    assert order[Rule.CR][0] == "long-early"  # (60 - 0) / 50 is the lowest ratio


def test_rules_leave_some_jobs_late_on_the_plant_book() -> None:
    # the benchmark's premise: due dates are tight enough that EDD is late somewhere
    plan = dispatch(generate(200, seed=1), Rule.EDD)
    assert 0.0 < plan.on_time_rate < 1.0


def test_best_rule_plan_is_the_least_tardy_rule() -> None:
    best = best_rule_plan(BOOK)
    assert best is not None
    assert best.total_weighted_tardiness == min(dispatch(BOOK, r).total_weighted_tardiness for r in Rule)


def test_repair_moves_only_what_the_breakdown_displaces() -> None:
    plan = dispatch(BOOK, Rule.ATC)
    problem = breakdown(BOOK, plan, now=8 * 60, machine="HEAD1", minutes=4 * 60)
    repaired = repair(problem)
    assert check(problem, repaired) == []
    before = {p.key: p for p in problem.previous}
    hit = [k for k, p in before.items() if p.machine == "HEAD1" and p.start < 4 * 60 and p.end > 0]
    moved = set(repaired.moved)
    assert moved and set(hit) - {(j.id, op.seq) for j, op in problem.operations() if op.frozen} <= moved
    assert metrics(problem, repaired).moved_share < 0.3  # no right-shift cascade through the plan
    # planning again from scratch with the same rule moves far more
    scratch = dispatch(problem.model_copy(update={"previous": ()}), Rule.ATC)
    assert len(moved) < len(moved_ops(problem, scratch.ops))
