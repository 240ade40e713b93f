"""Capable-to-promise on a small hand-made plan (every expected minute derived by hand below)."""

from __future__ import annotations

import pytest

from rescheduler.ctp import CannotPromiseError, insert_job
from rescheduler.model import Job, Operation, Problem, RushReserve, ScheduledOp, Unavailability

pytestmark = pytest.mark.unit

# Days of 100 minutes. Saw A; heading presses B1, B2 (a reserved bottleneck holding back half its capacity).
# Plan: job X saws on A over [0, 30) and heads on B1 over [0, 60); B2 is down over [0, 80).
X = Job(id="X", operations=(Operation(seq=1, durations={"A": 30}), Operation(seq=2, durations={"B1": 60})))
PLAN = [
    ScheduledOp(job="X", seq=1, machine="A", start=0, end=30),
    ScheduledOp(job="X", seq=2, machine="B1", start=0, end=60),
]


def problem(share: float) -> Problem:
    return Problem(
        machines=("A", "B1", "B2"),
        jobs=(X,),
        unavailability=(Unavailability(machine="B2", start=0, end=80, reason="FAULT"),),
        reserves=(RushReserve(workcenter="HEAD", machines=("B1", "B2"), share=share),) if share else (),
        day_minutes=100,
    )


def new_job(rush: bool) -> Job:
    return Job(
        id="NEW",
        operations=(Operation(seq=1, durations={"A": 20}), Operation(seq=2, durations={"B1": 30, "B2": 30})),
        rush=rush,
        reserve_eligible=rush,
    )


def test_inserts_into_gaps_without_reserve() -> None:
    # Saw: A is busy until 30 -> [30, 50). Heading from 50: B1 busy until 60 -> [60, 90); B2 down until
    # 80 -> [80, 110). B1 ends first: done at 90. The saw waited 30 min, heading 10: the saw sets the date.
    got = insert_job(problem(0.0), PLAN, new_job(rush=False), ready=0, limit=1000)
    assert [(o.machine, o.start, o.end) for o in got.ops] == [("A", 30, 50), ("B1", 60, 90)]
    assert got.completion == 90
    assert (got.bottleneck.machine, got.waited) == ("A", 30)


def test_normal_order_stays_out_of_the_rush_reserve() -> None:
    # Day 0: heading has 100 (B1) + 20 (B2) available minutes, limit floor(0.5 * 120) = 60, and X already
    # uses 60 of it: nothing left for a normal order. Day 1 [100, 200): limit 100, unused -> B1 at 100.
    got = insert_job(problem(0.5), PLAN, new_job(rush=False), ready=0, limit=1000)
    assert [(o.machine, o.start, o.end) for o in got.ops] == [("A", 30, 50), ("B1", 100, 130)]
    assert got.completion == 130
    assert (got.bottleneck.machine, got.bottleneck.seq, got.waited) == ("B1", 2, 50)


def test_rush_order_may_use_the_reserve() -> None:
    got = insert_job(problem(0.5), PLAN, new_job(rush=True), ready=0, limit=1000)
    assert got.completion == 90


def test_ready_time_delays_the_start() -> None:
    # Ready at 45: saw [45, 65), then B1 is free from 65 -> [65, 95).
    got = insert_job(problem(0.0), PLAN, new_job(rush=False), ready=45, limit=1000)
    assert [(o.machine, o.start) for o in got.ops] == [("A", 45), ("B1", 65)]
    assert got.completion == 95


def test_cannot_promise_before_limit() -> None:
    with pytest.raises(CannotPromiseError):
        insert_job(problem(0.0), PLAN, new_job(rush=False), ready=0, limit=20)
