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
from dataclasses import dataclass, field
from typing import Literal

from ortools.sat.python import cp_model
from pydantic import BaseModel, ConfigDict, Field

from rescheduler.model.build import BuiltModel, build, safe_horizon
from rescheduler.model.hints import extract, hint_plan, lookup
from rescheduler.model.lns import improve
from rescheduler.model.problem import Problem
from rescheduler.model.solution import NoSolutionError, Solution, SolveStatus, build_solution

OnSolution = Callable[[Solution], None]
# below this many seconds the later stages on a large full model rarely get past presolve (measured on
# the 2-core development machine under load): the LNS then keeps the whole budget
MIN_FULL_MODEL_S = 3.0


class SolveParams(BaseModel):
    model_config = ConfigDict(frozen=True)

    objective: Literal["tardiness", "makespan"] = "tardiness"
    time_limit_s: float = Field(default=10.0, gt=0)
    num_workers: int = Field(default=2, ge=1)
    # relative share of the remaining time for the tardiness, makespan and stability stages
    stage_shares: tuple[float, float, float] = (0.7, 0.1, 0.2)
    stability: bool = True
    move_cost: int = Field(default=240, ge=0, description="start-shift minutes one moved operation is worth")
    stability_tolerance: float = Field(
        default=0.03,
        ge=0,
        description="a replan may keep up to this much more weighted tardiness (relative) than the best plan "
        "found, to move fewer operations",
    )
    random_seed: int = 0
    log_search: bool = False
    probing: bool | None = Field(default=None, description="presolve probing; None: only for makespan mode")
    lns_min_ops: int = Field(default=150, description="from this size the tardiness stage is an LNS")
    large_ops: int = Field(
        default=800, description="from this size: insertion start plans and the LNS alone (no full-model stages)"
    )


class _Reporter(cp_model.CpSolverSolutionCallback):
    def __init__(self, problem: Problem, built: BuiltModel, stage: str, on_solution: OnSolution, t0: float) -> None:
        super().__init__()
        self._problem, self._built, self._stage, self._on_solution, self._t0 = problem, built, stage, on_solution, t0

    def on_solution_callback(self) -> None:
        ops = extract(self._built, self.value)
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
    """Solve `problem`; raise `NoSolutionError` if no plan is found within the time limit.

    If a feasible start plan exists (repair of the previous plan, or the best dispatch rule) it is passed
    to `on_solution` at once, and returned if the solver finds nothing better in time. On problems of
    `lns_min_ops` operations or more, the tardiness stage is a large-neighbourhood search
    (`rescheduler.model.lns`) from the start plan; the later stages then run on the full model.
    """
    params = params or SolveParams()
    t0 = time.perf_counter()
    deadline = t0 + params.time_limit_s
    large = problem.op_count() >= params.large_ops
    start_plan = _start_plan(
        problem,
        large=large,
        deadline=t0 + min(1.0, params.time_limit_s * 0.1),
        tolerance=params.stability_tolerance if params.stability else 0.0,
    )
    if start_plan is not None and on_solution is not None:
        on_solution(start_plan.model_copy(update={"wall_s": time.perf_counter() - t0}))
    stages, shares = _stages(problem, params)
    horizon = _horizon(problem, params, start_plan)
    stable = "stability" in stages
    best = start_plan
    done = _Run()
    bound: int | None = None
    if stages[0] == "tardiness" and start_plan is not None and problem.op_count() >= params.lns_min_ops:
        lns_deadline = t0 + params.time_limit_s * shares[0] / sum(shares)
        if deadline - lns_deadline < MIN_FULL_MODEL_S or large:
            # too little time left for the full model to even load, or a plant-scale model whose later
            # stages rarely get past presolve: all to the LNS (which breaks ties by fewer moves)
            lns_deadline = deadline
        best = improve(
            problem,
            start_plan,
            horizon=horizon,
            deadline=lns_deadline,
            num_workers=params.num_workers,
            stable=stable,
            on_improve=_timed(on_solution, t0),
            seed=params.random_seed,
            tolerance=params.stability_tolerance,
            local=large,
        )
        done.objectives["tardiness"] = best.total_weighted_tardiness
        done.statuses.append("FEASIBLE")
        bound = best.total_weighted_tardiness
        if stable:
            bound = math.floor(bound * (1 + params.stability_tolerance))
        stages, shares = stages[1:], shares[1:]
    if best is not None and (not stages or large or deadline - time.perf_counter() < 0.1):
        return best.model_copy(update={"objectives": done.objectives, "wall_s": time.perf_counter() - t0})
    built = build(problem, horizon, with_stability=stable, move_cost=params.move_cost)
    if bound is not None:
        built.model.add(built.objectives["tardiness"] <= bound)
    hint_plan(built, problem, best.ops if best else problem.previous)
    run = _run_stages(built, params, stages, shares, deadline, _reporter(problem, built, on_solution, t0))
    run.objectives = {**done.objectives, **run.objectives}
    run.statuses = done.statuses + run.statuses
    if run.values is None:
        if best is None:
            raise NoSolutionError(run.failure)
        return best.model_copy(update={"objectives": run.objectives, "wall_s": time.perf_counter() - t0})

    values = run.values
    ops = extract(built, lookup(values))
    plan = build_solution(problem, ops, solver="cp-sat", status=SolveStatus.FEASIBLE)
    # report the final plan's values: a later stage may improve an earlier stage's objective further
    final = {"tardiness": plan.total_weighted_tardiness, "makespan": plan.makespan}
    objectives = {k: final.get(k, v) for k, v in run.objectives.items()}
    proved = len(run.statuses) == len(stages) + len(done.statuses) and all(st == "OPTIMAL" for st in run.statuses)
    return plan.model_copy(
        update={
            "status": SolveStatus.OPTIMAL if proved else SolveStatus.FEASIBLE,
            "objectives": objectives,
            "bounds": run.bounds,
            "wall_s": time.perf_counter() - t0,
        }
    )


def _timed(on_solution: OnSolution | None, t0: float) -> OnSolution | None:
    if on_solution is None:
        return None
    callback = on_solution

    def report(plan: Solution) -> None:
        callback(plan.model_copy(update={"wall_s": time.perf_counter() - t0}))

    return report


def _stages(problem: Problem, params: SolveParams) -> tuple[list[str], list[float]]:
    if params.objective == "makespan":
        return ["makespan"], [1.0]
    stages, shares = ["tardiness", "makespan"], list(params.stage_shares[:2])
    if params.stability and problem.previous:
        stages.append("stability")
        shares.append(params.stage_shares[2])
    return stages, shares


def _horizon(problem: Problem, params: SolveParams, start_plan: Solution | None) -> int:
    if problem.horizon is not None:
        return problem.horizon
    if start_plan is None:
        return safe_horizon(problem)
    if params.objective == "makespan":
        return start_plan.makespan  # minimizing makespan: no better plan ends later than a feasible one
    # a tardiness-optimal plan may end later than the start plan, but not by half of it plus a day
    return min(safe_horizon(problem), math.ceil(start_plan.makespan * 1.5) + problem.day_minutes)


@dataclass
class _Run:
    values: list[int] | None = None
    objectives: dict[str, int] = field(default_factory=dict)
    bounds: dict[str, float] = field(default_factory=dict)
    statuses: list[str] = field(default_factory=list)
    failure: str = "UNKNOWN"


def _run_stages(
    built: BuiltModel,
    params: SolveParams,
    stages: list[str],
    shares: list[float],
    deadline: float,
    reporter: Callable[[str], _Reporter | None],
) -> _Run:
    model, run = built.model, _Run()
    tie_weight = len(built.moved) + 1
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
        status = solver.solve(model, reporter(stage))
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            run.failure = solver.status_name(status)
            break  # keep the previous stage's plan, if any
        run.values = list(solver.response_proto.solution)
        run.objectives[stage] = _evaluate(solver, expr)
        run.bounds[stage] = solver.best_objective_bound
        run.statuses.append(solver.status_name(status))
        allowed = run.objectives[stage]
        if stage == "tardiness" and "stability" in stages:
            allowed = math.floor(allowed * (1 + params.stability_tolerance))  # room to move less
        model.add(expr <= allowed)
        _hint_all(model, run.values)
    return run


def _reporter(
    problem: Problem, built: BuiltModel, on_solution: OnSolution | None, t0: float
) -> Callable[[str], _Reporter | None]:
    def make(stage: str) -> _Reporter | None:
        return _Reporter(problem, built, stage, on_solution, t0) if on_solution else None

    return make


def _evaluate(solver: cp_model.CpSolver, expr: cp_model.LinearExprT) -> int:
    return int(expr) if isinstance(expr, int) else int(solver.value(expr))


def _solver(params: SolveParams, budget: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = budget
    solver.parameters.num_workers = params.num_workers
    solver.parameters.random_seed = params.random_seed
    solver.parameters.log_search_progress = params.log_search
    probing = params.probing if params.probing is not None else params.objective == "makespan"
    if not probing:
        # probing in presolve costs seconds of wall time on plant models under load and gains little there
        solver.parameters.cp_model_probing_level = 0
    return solver


def _start_plan(problem: Problem, *, large: bool, deadline: float, tolerance: float) -> Solution | None:
    """A feasible plan to start from: the repair of the previous plan (unless a fresh plan is better by
    more than the tolerance), else the best rule plan; fresh plans on large problems and on replans are
    the best serial insertion, which takes a second where the rules take tens at 2,000 operations.

    It bounds the horizon (x1.5 plus a day of slack for tardiness; exactly for makespan) and is the hint.
    """
    from rescheduler.dispatch import best_rule_plan, repair  # the rules are the model's baseline and hint
    from rescheduler.insertion import best_insertion_plan

    if large or problem.previous:  # fast: a second at 2,000 operations where the rules take tens
        fresh = best_insertion_plan(problem, deadline) or best_rule_plan(problem)
    else:
        fresh = best_rule_plan(problem)
    if problem.previous:
        try:
            repaired = repair(problem)
        except NoSolutionError:
            return fresh
        # stable, unless the repair is worse than a fresh plan by more than the tolerance: then the fresh
        # plan, whose moves the search then puts back as far as the tolerance allows
        if fresh is None or repaired.total_weighted_tardiness <= math.floor(
            fresh.total_weighted_tardiness * (1 + tolerance)
        ):
            return repaired
    return fresh


def _hint_all(model: cp_model.CpModel, values: list[int]) -> None:
    model.clear_hints()  # type: ignore[no-untyped-call]
    hint = model.proto.solution_hint
    hint.vars.extend(range(len(values)))
    hint.values.extend(values)
