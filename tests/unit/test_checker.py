"""The schedule checker catches every kind of violation: a valid plan, broken one way at a time."""

from __future__ import annotations

import pytest

from rescheduler.model import (
    Job,
    Operation,
    Placement,
    Problem,
    RushReserve,
    ScheduledOp,
    SolveParams,
    SolveStatus,
    Unavailability,
    ViolationKind,
    build_solution,
    check,
    solve,
)

pytestmark = pytest.mark.unit

PROBLEM = Problem(
    machines=("A", "B", "H1", "H2"),
    jobs=(
        Job(
            id="j1",
            release=20,
            due=100,
            operations=(
                Operation(seq=0, durations={"A": 10, "B": 12}),
                Operation(seq=1, durations={"H1": 20, "H2": 25}),
            ),
        ),
        Job(
            id="j2",
            due=50,
            operations=(
                Operation(seq=0, durations={"A": 10}, frozen=Placement(machine="A", start=-5, end=5)),
                Operation(seq=1, durations={"H1": 30}),
            ),
        ),
    ),
    unavailability=(Unavailability(machine="B", start=0, end=50, reason="maintenance"),),
)

VALID = [
    ScheduledOp(job="j2", seq=0, machine="A", start=-5, end=5),
    ScheduledOp(job="j2", seq=1, machine="H1", start=5, end=35),
    ScheduledOp(job="j1", seq=0, machine="A", start=20, end=30),
    ScheduledOp(job="j1", seq=1, machine="H2", start=40, end=65),
]


def _with(*changes: ScheduledOp, drop: tuple[str, int] | None = None, add: bool = False) -> list[ScheduledOp]:
    """VALID with ops replaced by key (or added with `add`), and optionally one op dropped."""
    ops = [op for op in VALID if op.key != drop]
    for change in changes:
        ops = [*ops, change] if add else [change if op.key == change.key else op for op in ops]
    return ops


def _kinds(ops: list[ScheduledOp], problem: Problem = PROBLEM) -> set[ViolationKind]:
    solution = build_solution(problem, ops, solver="test", status=SolveStatus.FEASIBLE)
    return {v.kind for v in check(problem, solution)}


def test_valid_plan_has_no_violation() -> None:
    assert _kinds(VALID) == set()


@pytest.mark.parametrize(
    ("ops", "kind"),
    [
        (_with(drop=("j1", 1)), ViolationKind.MISSING),
        (_with(ScheduledOp(job="j1", seq=1, machine="H2", start=100, end=125), add=True), ViolationKind.DUPLICATE),
        (_with(ScheduledOp(job="j9", seq=0, machine="A", start=100, end=110), add=True), ViolationKind.UNKNOWN),
        (_with(ScheduledOp(job="j1", seq=1, machine="H2", start=29, end=54)), ViolationKind.PRECEDENCE),
        (_with(ScheduledOp(job="j1", seq=1, machine="H1", start=30, end=50)), ViolationKind.OVERLAP),
        (_with(ScheduledOp(job="j2", seq=1, machine="H2", start=5, end=35)), ViolationKind.INELIGIBLE),
        (_with(ScheduledOp(job="j1", seq=1, machine="H2", start=40, end=66)), ViolationKind.DURATION),
        (_with(ScheduledOp(job="j1", seq=0, machine="A", start=10, end=20)), ViolationKind.RELEASE),
        (_with(ScheduledOp(job="j1", seq=0, machine="B", start=20, end=32)), ViolationKind.UNAVAILABLE),
        (_with(ScheduledOp(job="j2", seq=0, machine="A", start=-6, end=4)), ViolationKind.FROZEN),
    ],
    ids=lambda x: x.value if isinstance(x, ViolationKind) else "",
)
def test_each_violation_kind_is_caught_alone(ops: list[ScheduledOp], kind: ViolationKind) -> None:
    assert _kinds(ops) == {kind}


def test_work_before_the_plan_origin_is_a_release_violation() -> None:
    early = _with(ScheduledOp(job="j1", seq=0, machine="A", start=-30, end=-20))
    relaxed = PROBLEM.model_copy(update={"jobs": (PROBLEM.jobs[0].model_copy(update={"release": -100}),)})
    assert ViolationKind.RELEASE in _kinds([op for op in early if op.job == "j1"], relaxed)


def test_a_zero_length_operation_inside_another_is_no_overlap() -> None:
    problem = Problem(
        machines=("A",),
        jobs=(
            Job(id="a", operations=(Operation(seq=0, durations={"A": 10}),)),
            Job(id="b", operations=(Operation(seq=0, durations={"A": 0}),)),
        ),
    )
    ops = [
        ScheduledOp(job="a", seq=0, machine="A", start=0, end=10),
        ScheduledOp(job="b", seq=0, machine="A", start=5, end=5),
    ]
    assert _kinds(ops, problem) == set()


def _reserve_problem(reserve_eligible: bool) -> Problem:
    """One bottleneck machine, days of 100 minutes: 85 may go to normal jobs, 15 are held for rush."""
    return Problem(
        machines=("H1",),
        jobs=(
            Job(id="n", operations=(Operation(seq=0, durations={"H1": 50}),)),
            Job(
                id="r",
                rush=True,
                reserve_eligible=reserve_eligible,
                operations=(Operation(seq=0, durations={"H1": 50}),),
            ),
        ),
        reserves=(RushReserve(workcenter="heading", machines=("H1",), share=0.15),),
        day_minutes=100,
    )


def test_rush_reserve_by_exact_day_overlap() -> None:
    ops = [
        ScheduledOp(job="n", seq=0, machine="H1", start=0, end=50),
        ScheduledOp(job="r", seq=0, machine="H1", start=50, end=100),
    ]
    assert _kinds(ops, _reserve_problem(reserve_eligible=False)) == {ViolationKind.RUSH_RESERVE}
    assert _kinds(ops, _reserve_problem(reserve_eligible=True)) == set()
    # spanning midnight: 30 minutes on day 0 (80 with n) and 20 on day 1 keeps both days under 85
    spanning = [ops[0], ScheduledOp(job="r", seq=0, machine="H1", start=70, end=120)]
    assert _kinds(spanning, _reserve_problem(reserve_eligible=False)) == set()


def test_the_solver_plan_for_the_checker_problem_is_valid() -> None:
    solution = solve(PROBLEM, SolveParams(time_limit_s=2))
    assert check(PROBLEM, solution) == []
    assert solution.by_key()[("j2", 0)].start == -5
