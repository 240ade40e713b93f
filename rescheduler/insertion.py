"""Fast start plans for large problems: serial insertion of whole jobs in a priority order.

The dispatch rules (`rescheduler.dispatch`) choose among every job's next operation at each step
(Giffler-Thompson): on 2,000 operations that takes tens of seconds of Python on a loaded 2-core machine.
Here each job, in one fixed order, is placed whole, every operation at its earliest completion in the gaps
the jobs before it left (same shop, so calendars, long operations and the reserve hold exactly as in the
rules and the model): one placement per operation. Several orders are tried and the least tardy plan
wins; it is the solver's first plan and hint at plant scale, which the large-neighbourhood search then
improves. Not a baseline: the benchmark compares with the dispatch rules.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from rescheduler.dispatch import Shop, earliest_machine
from rescheduler.model import calendar
from rescheduler.model.problem import Job, Problem, ScheduledOp
from rescheduler.model.solution import NoSolutionError, Solution, SolveStatus, build_solution

JobKey = Callable[[Job, int], float]  # (job, its remaining work in minutes) -> order key, lower first


def _due(job: Job) -> float:
    return job.due if job.due is not None else math.inf


ORDERS: dict[str, JobKey] = {
    "edd": lambda job, work: _due(job),
    "slack": lambda job, work: _due(job) - work,
    "weighted-slack": lambda job, work: (_due(job) - work) / max(1, job.weight) if job.due is not None else math.inf,
    "weighted-due": lambda job, work: _due(job) - 240 * job.weight,
}


def insert_all(problem: Problem, name: str) -> Solution:
    """One serial-insertion plan with the order `name` (a key of ORDERS)."""
    t0 = time.perf_counter()
    key = ORDERS[name]
    shop = Shop(problem)
    placed: list[ScheduledOp] = calendar.frozen_ops(problem)
    work = {
        job.id: sum(min(op.durations.values()) for op in job.operations if op.frozen is None) for job in problem.jobs
    }
    for job in sorted(problem.jobs, key=lambda j: (key(j, work[j.id]), j.id)):
        ready = max(0, job.release)
        for op in job.operations:
            if op.frozen is not None:
                ready = max(ready, op.frozen.end)
                continue
            choice = earliest_machine(shop, job, op, ready)
            if choice is None:
                raise NoSolutionError("INFEASIBLE", f"insertion: {job.id}/{op.seq} fits on no machine")
            done = shop.place(job, op, choice[1], choice[0])
            placed.append(done)
            ready = done.end
    return build_solution(
        problem, placed, solver=f"insert-{name}", status=SolveStatus.FEASIBLE, wall_s=time.perf_counter() - t0
    )


def best_insertion_plan(problem: Problem, deadline: float | None = None) -> Solution | None:
    """The least tardy insertion plan over ORDERS (the first is always tried; the others while before
    `deadline`, a perf_counter time); None if no order finds a plan."""
    best: Solution | None = None
    for name in ORDERS:
        if best is not None and deadline is not None and time.perf_counter() > deadline:
            break
        try:
            plan = insert_all(problem, name)
        except NoSolutionError:
            continue
        if best is None or (plan.total_weighted_tardiness, plan.makespan) < (
            best.total_weighted_tardiness,
            best.makespan,
        ):
            best = plan
    return best
