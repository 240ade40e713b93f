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

from rescheduler.model.build import BuiltModel, build, hint_plan, safe_horizon
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
        value = round(self.objective_value)  # with a tie-break this includes it: progress, not a figure
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
    start_plan = _start_plan(problem)
    hint: list[ScheduledOp] = list(start_plan.ops) if start_plan else list(problem.previous)
    if params.objective == "makespan":
        stages, shares = ["makespan"], [1.0]
        # minimizing makespan: no optimal plan ends after a feasible one
        horizon = problem.horizon or (start_plan.makespan if start_plan else safe_horizon(problem))
    else:
        stages = ["tardiness", "makespan"]
        shares = list(params.stage_shares[:2])
        if params.stability and problem.previous:
            stages.append("stability")
            shares.append(params.stage_shares[2])
        horizon = problem.horizon or safe_horizon(problem)
        if start_plan and not problem.horizon:
            horizon = min(horizon, math.ceil(start_plan.makespan * 1.5) + problem.day_minutes)
    built = build(problem, horizon, with_stability="stability" in stages, move_cost=params.move_cost)
    tie_weight = len(built.moved) + 1
    model = built.model
    hint_plan(built, problem, hint)
    objectives: dict[str, int] = {}
    bounds: dict[str, float] = {}
    statuses: list[str] = []
    best: list[int] | None = None
    for i, stage in enumerate(stages):
        budget = max(0.05, (deadline - time.perf_counter()) * shares[i] / sum(shares[i:]))
        expr = built.objectives[stage]
        if "stability" in stages and stage != "stability":
            # tie-break by the number of moved operations: exactly lexicographic (the stage's value
            # dominates), and it steers the whole search toward plans close to the previous one
            model.minimize(cp_model.LinearExpr.weighted_sum([expr, built.objectives["moves"]], [tie_weight, 1]))
        else:
            model.minimize(expr)
        solver = _solver(params, budget)
        reporter = _Reporter(problem, built, stage, on_solution, t0) if on_solution else None
        status = solver.solve(model, reporter)
        name = solver.status_name(status)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if best is None:
                raise NoSolutionError(name, f"stage {stage}, {budget:.2f}s")
            break  # keep the previous stage's plan
        best, final = list(solver.response_proto.solution), solver
        objectives[stage] = _evaluate(solver, expr)
        bounds[stage] = solver.best_objective_bound
        statuses.append(name)
        model.add(expr <= objectives[stage])
        _hint_all(model, best)
    assert best is not None
    values = best
    # a later stage may improve an earlier stage's objective further: report the final plan's values
    objectives = {stage: _evaluate(final, built.objectives[stage]) for stage in objectives}

    def lookup(var: cp_model.IntVar) -> int:
        return int(values[var.index])

    ops = _extract(built, lookup)
    plan = build_solution(problem, ops, solver="cp-sat", status=SolveStatus.FEASIBLE)
    final_values = {"tardiness": plan.total_weighted_tardiness, "makespan": plan.makespan}
    objectives.update({k: v for k, v in final_values.items() if k in objectives})
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


def _evaluate(solver: cp_model.CpSolver, expr: cp_model.LinearExprT) -> int:
    return int(expr) if isinstance(expr, int) else int(solver.value(expr))


def _solver(params: SolveParams, budget: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = budget
    solver.parameters.num_workers = params.num_workers
    solver.parameters.random_seed = params.random_seed
    solver.parameters.log_search_progress = params.log_search
    return solver


def _start_plan(problem: Problem) -> Solution | None:
    """A feasible plan to start from: the right-shift repair of the previous plan, else the best rule plan.

    It bounds the horizon (x1.5 plus a day of slack for tardiness; exactly for makespan) and is the hint.
    """
    from rescheduler.dispatch import best_rule_plan, repair  # the rules are the model's baseline and hint

    if problem.previous:
        try:
            return repair(problem)
        except NoSolutionError:
            pass
    return best_rule_plan(problem)


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
