"""A schedule for a `Problem`: produced by the CP-SAT model and by the dispatch rules alike."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from rescheduler.model.problem import OpKey, Problem, ScheduledOp


class SolveStatus(StrEnum):
    OPTIMAL = "OPTIMAL"  # every stage proved optimal
    FEASIBLE = "FEASIBLE"  # a valid plan, optimality not proved (time limit) or a heuristic


class NoSolutionError(RuntimeError):
    """The solver found no plan: `status` is the CP-SAT status name (INFEASIBLE, UNKNOWN, MODEL_INVALID)."""

    def __init__(self, status: str, detail: str = "") -> None:
        super().__init__(f"no schedule: {status}{': ' + detail if detail else ''}")
        self.status = status
        self.detail = detail


class JobResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    job: str
    completion: int
    tardiness: int
    weighted_tardiness: int


class Solution(BaseModel):
    """`objectives` / `bounds`: stage name ("tardiness", "makespan", "stability") -> value / best bound."""

    model_config = ConfigDict(frozen=True)

    solver: str
    status: SolveStatus
    ops: tuple[ScheduledOp, ...]
    objectives: dict[str, int] = {}
    bounds: dict[str, float] = {}
    jobs: tuple[JobResult, ...] = ()
    makespan: int = 0
    wall_s: float = 0.0
    moved: tuple[OpKey, ...] = ()

    def by_key(self) -> dict[OpKey, ScheduledOp]:
        return {op.key: op for op in self.ops}

    @property
    def total_weighted_tardiness(self) -> int:
        return sum(j.weighted_tardiness for j in self.jobs)

    @property
    def on_time_rate(self) -> float:
        return sum(1 for j in self.jobs if j.tardiness == 0) / len(self.jobs) if self.jobs else 1.0


def job_results(problem: Problem, ops: tuple[ScheduledOp, ...] | list[ScheduledOp]) -> tuple[JobResult, ...]:
    """Completion and tardiness per job (a job without a due date is never tardy)."""
    completion: dict[str, int] = {}
    for op in ops:
        completion[op.job] = max(completion.get(op.job, op.end), op.end)
    results = []
    for job in problem.jobs:
        done = completion.get(job.id, 0)
        tardy = max(0, done - job.due) if job.due is not None else 0
        results.append(JobResult(job=job.id, completion=done, tardiness=tardy, weighted_tardiness=tardy * job.weight))
    return tuple(results)


def moved_ops(problem: Problem, ops: tuple[ScheduledOp, ...] | list[ScheduledOp]) -> tuple[OpKey, ...]:
    """Operations whose machine or start differs from the previous plan (ops new to the plan don't count)."""
    before = {p.key: p for p in problem.previous}
    moved = []
    for op in ops:
        prev = before.get(op.key)
        if prev is not None and (prev.machine != op.machine or prev.start != op.start):
            moved.append(op.key)
    return tuple(moved)


def build_solution(
    problem: Problem,
    ops: list[ScheduledOp],
    *,
    solver: str,
    status: SolveStatus,
    objectives: dict[str, int] | None = None,
    bounds: dict[str, float] | None = None,
    wall_s: float = 0.0,
) -> Solution:
    """Assemble a Solution with the derived figures (job results, makespan, moved ops)."""
    ordered = tuple(sorted(ops, key=lambda o: (o.start, o.machine, o.job, o.seq)))
    return Solution(
        solver=solver,
        status=status,
        ops=ordered,
        objectives=objectives or {},
        bounds=bounds or {},
        jobs=job_results(problem, ordered),
        makespan=max((o.end for o in ordered), default=0),
        wall_s=wall_s,
        moved=moved_ops(problem, ordered),
    )


class Metrics(BaseModel):
    model_config = ConfigDict(frozen=True)

    total_weighted_tardiness: int
    on_time_rate: float
    makespan: int
    moved: int
    moved_share: float


def metrics(problem: Problem, solution: Solution) -> Metrics:
    """`moved_share`: moved operations over the previous plan's operations that were free to move."""
    frozen = {(job.id, op.seq) for job, op in problem.operations() if op.frozen is not None}
    previous = sum(1 for p in problem.previous if p.key not in frozen)
    return Metrics(
        total_weighted_tardiness=solution.total_weighted_tardiness,
        on_time_rate=solution.on_time_rate,
        makespan=solution.makespan,
        moved=len(solution.moved),
        moved_share=len(solution.moved) / previous if previous else 0.0,
    )
