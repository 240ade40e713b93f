"""Staged (lexicographic) CP-SAT search over the model of `rescheduler.model.build`.

Stages: tardiness (total weighted tardiness) -> makespan -> stability (only with a previous plan); each
stage's best value becomes a constraint of the next. `objective="makespan"` runs the makespan stage only
(benchmark instances). The time limit is shared: each stage gets its share of what is left, so time an
early stage does not need (proved optimal) goes to the later ones. The previous plan (or, without one,
the best dispatch-rule plan) is the first stage's hint; every later stage is hinted with the complete
solution of the stage before, so it starts from a feasible plan at once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Literal

from ortools.sat.python import cp_model
from pydantic import BaseModel, ConfigDict, Field

from rescheduler.model.build import BuiltModel, build, safe_horizon
from rescheduler.model.problem import Problem, ScheduledOp
from rescheduler.model.solution import NoSolutionError, Solution, SolveStatus, build_solution

OnSolution = Callable[[Solution], None]


class SolveParams(BaseModel):
    model_config = ConfigDict(frozen=True)

    objective: Literal["tardiness", "makespan"] = "tardiness"
    time_limit_s: float = Field(default=10.0, gt=0)
    num_workers: int = Field(default=2, ge=1)
    # relative share of the remaining time for the tardiness, makespan and stability stages
    stage_shares: tuple[float, float, float] = (0.5, 0.2, 0.3)
    stability: bool = True
    move_cost: int = Field(default=240, ge=0, description="start-shift minutes one moved operation is worth")
    random_seed: int = 0
    log_search: bool = False


class _Reporter(cp_model.CpSolverSolutionCallback):
    def __init__(self, problem: Problem, built: BuiltModel, stage: str, on_solution: OnSolution, t0: float) -> None:
        super().__init__()
        self._problem, self._built, self._stage, self._on_solution, self._t0 = problem, built, stage, on_solution, t0

    def on_solution_callback(self) -> None:
        ops = _extract(self._built, self.value)
        value = round(self.objective_value)
        self._on_solution(
            build_solution(
                self._problem,
                ops,
                solver="cp-sat",
                status=SolveStatus.FEASIBLE,
                objectives={self._stage: value},
                wall_s=time.perf_counter() - self._t0,
            )
        )


def solve(problem: Problem, params: SolveParams | None = None, on_solution: OnSolution | None = None) -> Solution:
    """Solve `problem`; raise `NoSolutionError` if no plan is found within the time limit."""
    params = params or SolveParams()
    t0 = time.perf_counter()
    deadline = t0 + params.time_limit_s
    hint = list(problem.previous)
    if params.objective == "makespan":
        stages, shares, horizon = ["makespan"], [1.0], problem.horizon or safe_horizon(problem)
    else:
        stages = ["tardiness", "makespan"]
        shares = list(params.stage_shares[:2])
        if params.stability and problem.previous:
            stages.append("stability")
            shares.append(params.stage_shares[2])
        horizon = problem.horizon or _dispatch_horizon(problem, hint)
    built = build(problem, horizon, with_stability="stability" in stages, move_cost=params.move_cost)
    model = built.model
    _hint_plan(built, hint)
    objectives: dict[str, int] = {}
    bounds: dict[str, float] = {}
    statuses: list[str] = []
    best: list[int] | None = None
    for i, stage in enumerate(stages):
        budget = max(0.05, (deadline - time.perf_counter()) * shares[i] / sum(shares[i:]))
        expr = built.objectives[stage]
        model.minimize(expr)
        solver = _solver(params, budget)
        reporter = _Reporter(problem, built, stage, on_solution, t0) if on_solution else None
        status = solver.solve(model, reporter)
        name = solver.status_name(status)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if best is None:
                raise NoSolutionError(name, f"stage {stage}, {budget:.2f}s")
            break  # keep the previous stage's plan
        best = list(solver.response_proto.solution)
        objectives[stage] = round(solver.objective_value)
        bounds[stage] = solver.best_objective_bound
        statuses.append(name)
        model.add(expr <= objectives[stage])
        _hint_all(model, best)
    assert best is not None
    values = best

    def lookup(var: cp_model.IntVar) -> int:
        return int(values[var.index])

    ops = _extract(built, lookup)
    proved = len(statuses) == len(stages) and all(s == "OPTIMAL" for s in statuses)
    status_out = SolveStatus.OPTIMAL if proved else SolveStatus.FEASIBLE
    return build_solution(
        problem,
        ops,
        solver="cp-sat",
        status=status_out,
        objectives=objectives,
        bounds=bounds,
        wall_s=time.perf_counter() - t0,
    )


def _solver(params: SolveParams, budget: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = budget
    solver.parameters.num_workers = params.num_workers
    solver.parameters.random_seed = params.random_seed
    solver.parameters.log_search_progress = params.log_search
    return solver


def _dispatch_horizon(problem: Problem, hint: list[ScheduledOp]) -> int:
    """Bound the horizon by the best dispatch plan (x1.5 slack), which also becomes the hint if none given."""
    from rescheduler.dispatch import best_rule_plan  # the dispatch rules are the model's baseline and hint

    plan = best_rule_plan(problem)
    if plan is None:
        return safe_horizon(problem)
    if not hint:
        hint.extend(plan.ops)
    return min(safe_horizon(problem), math.ceil(plan.makespan * 1.5) + problem.day_minutes)


def _hint_plan(built: BuiltModel, plan: list[ScheduledOp]) -> None:
    for op in plan:
        start = built.starts.get(op.key)
        if start is None:
            continue
        built.model.add_hint(start, op.start)
        lits = built.presence[op.key]
        if len(lits) > 1:
            for machine, lit in lits.items():
                built.model.add_hint(lit, machine == op.machine)


def _hint_all(model: cp_model.CpModel, values: list[int]) -> None:
    model.clear_hints()  # type: ignore[no-untyped-call]
    hint = model.proto.solution_hint
    hint.vars.extend(range(len(values)))
    hint.values.extend(values)


def _extract(built: BuiltModel, value: Callable[[cp_model.IntVar], int]) -> list[ScheduledOp]:
    ops = list(built.frozen)
    for key, start_var in built.starts.items():
        start = value(start_var)
        lits = built.presence[key]
        machine = next(iter(lits)) if len(lits) == 1 else next(m for m, lit in lits.items() if value(lit))
        end = start + built.durations[key][machine]
        ops.append(ScheduledOp(job=key[0], seq=key[1], machine=machine, start=start, end=end))
    return ops
