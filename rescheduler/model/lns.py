"""Large-neighbourhood search for the tardiness stage of big problems.

CP-SAT's own LNS copies and presolves the full model for every neighbourhood; on a few hundred
operations with calendars and the rush reserve that costs seconds per neighbourhood on a loaded
2-core machine. Here each neighbourhood is a small model of its own: the operations starting in a time
window (plus, every other round, all operations of a few of the tardiest jobs) are free, every other
operation is held where it is as a constant. Improvements (less weighted tardiness, then fewer moved
operations) are kept; the window slides over the plan and its size adapts to how fast the pieces solve.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable

from ortools.sat.python import cp_model

from rescheduler.model.build import build
from rescheduler.model.hints import extract, hint_plan, lookup
from rescheduler.model.problem import OpKey, Problem
from rescheduler.model.solution import Solution, SolveStatus, build_solution

log = logging.getLogger(__name__)
PIECE_S = 0.5  # time limit per neighbourhood (plant scale: many small local pieces)
PIECE_S_SMALL = 2.0  # below plant scale: fewer, larger pieces over whole-horizon domains
RESTORE_OPS = 60  # moved operations a restoring neighbourhood tries to put back
REACH_DAYS = 1  # a window's operations may move this many days beyond it


def _score(plan: Solution, stable: bool, floor: int, tolerance: float) -> tuple[int, int]:
    """Lower is better. Stable: any plan within `tolerance` of the least weighted tardiness found
    (`floor`) counts as good as the best, and then fewer moved operations win."""
    tardiness = plan.total_weighted_tardiness
    if not stable:
        return (tardiness, 0)
    within = tardiness <= math.floor(floor * (1 + tolerance))
    return (0 if within else tardiness, len(plan.moved))


def _restore(problem: Problem, plan: Solution, rng: random.Random, width: int) -> dict[OpKey, tuple[int, int]]:
    """The moved operations that were, or are, in a window around one of them: free to go back where
    the previous plan had them (together, so that they can swap back)."""
    before = {p.key: p for p in problem.previous}
    moved = [op for op in plan.ops if op.key in set(plan.moved)]
    if not moved:
        return {}
    anchor = rng.choice(moved).start
    lo, hi = anchor - width, anchor + width
    day = problem.day_minutes
    chosen = [op for op in moved if lo <= op.start < hi or lo <= before[op.key].start < hi][:RESTORE_OPS]
    return {
        op.key: (min(op.start, before[op.key].start) - day, max(op.start, before[op.key].start) + day) for op in chosen
    }


def _late_anchor(plan: Solution, rng: random.Random, width: int) -> int | None:
    """A window start just before an operation of a late job (jobs drawn by their weighted tardiness)."""
    late = [j for j in plan.jobs if j.tardiness > 0]
    if not late:
        return None
    job = rng.choices(late, weights=[j.weighted_tardiness for j in late])[0]
    ops = [op for op in plan.ops if op.job == job.job]
    return rng.choice(ops).start - width // 2


def _classic_neighbourhood(
    problem: Problem, plan: Solution, rng: random.Random, start: int, width: int, round_: int
) -> dict[OpKey, tuple[int, int]]:
    """Below plant scale: the operations starting in the sliding window, every other round with all
    operations of a few of the tardiest jobs; free over the whole horizon."""
    frozen = {(j.id, op.seq) for j, op in problem.operations() if op.frozen is not None}
    whole = (0, 1 << 40)
    free = {op.key: whole for op in plan.ops if op.key not in frozen and start <= op.start < start + width}
    if round_ % 2 == 1:
        late = sorted((j for j in plan.jobs if j.tardiness > 0), key=lambda j: -j.weighted_tardiness)[:10]
        for job in rng.sample(late, k=min(3, len(late))):
            free |= {op.key: whole for op in plan.ops if op.job == job.job and op.key not in frozen}
    return free


def _neighbourhood(
    problem: Problem, plan: Solution, rng: random.Random, start: int, width: int, round_: int
) -> dict[OpKey, tuple[int, int]]:
    """The free operations, each with the range its start may move in. Rounds alternate: the operations
    starting in the sliding window; those in a window around an operation of a late job (where weighted
    tardiness is made); and that plus all operations of a few of the tardiest jobs, which may move to
    any earlier time. The window's operations move within it and a day either side: local ranges keep
    each small model small to load (whole-horizon domains on 2,000 operations take seconds to load)."""
    frozen = {(j.id, op.seq) for j, op in problem.operations() if op.frozen is not None}
    day = problem.day_minutes
    if round_ % 3 != 0:
        start = _late_anchor(plan, rng, width) or start
    reach = width + REACH_DAYS * day
    free = {
        op.key: (op.start - reach, op.start + reach)
        for op in plan.ops
        if op.key not in frozen and start <= op.start < start + width
    }
    if round_ % 3 == 2:
        late = sorted((j for j in plan.jobs if j.tardiness > 0), key=lambda j: -j.weighted_tardiness)[:10]
        for job in rng.sample(late, k=min(3, len(late))):
            for op in plan.ops:
                if op.job == job.job and op.key not in frozen:
                    _, hi = free.get(op.key, (op.start, op.start))
                    free[op.key] = (0, max(hi, op.start + day))
    return free


def improve(
    problem: Problem,
    plan: Solution,
    *,
    horizon: int,
    deadline: float,
    num_workers: int,
    stable: bool,
    on_improve: Callable[[Solution], None] | None = None,
    seed: int = 0,
    tolerance: float = 0.0,
    max_rounds: int | None = None,
    local: bool = True,
) -> Solution:
    """Improve `plan` until `deadline` (perf_counter): weighted tardiness; if `stable`, among plans within
    `tolerance` (relative) of the least tardiness found, the fewest moved operations. Then every fourth
    round tries to put moved operations back, using what is left of the tolerance."""
    rng = random.Random(seed)
    floor = plan.total_weighted_tardiness
    frozen = {(j.id, op.seq) for j, op in problem.operations() if op.frozen is not None}
    best = plan
    width = problem.day_minutes // 2
    position, round_ = 0, 0
    build_s = 0.05  # how long the last neighbourhood took to build: none is started that cannot finish
    while deadline - time.perf_counter() > build_s + 0.15 and (max_rounds is None or round_ < max_rounds):
        round_ += 1
        end = max(best.makespan, 1)
        if position >= end:
            position = 0
        # restore every other round once the plan is within the tolerance, every fourth before
        within = best.total_weighted_tardiness <= math.floor(floor * (1 + tolerance))
        restoring = stable and bool(best.moved) and round_ % (2 if within else 4) == 0
        if restoring:
            free = _restore(problem, best, rng, width)
        else:
            free = (_neighbourhood if local else _classic_neighbourhood)(problem, best, rng, position, width, round_)
        if round_ % 3 == 0 or not local:
            position += max(1, width // 2)
        if not free:
            continue
        t_build = time.perf_counter()
        fixed = {op.key: op for op in best.ops if op.key not in free and op.key not in frozen}
        built = build(problem, horizon, with_stability=stable, move_cost=0, fixed=fixed, bounds=free if local else None)
        hint_plan(built, problem, best.ops)
        build_s = time.perf_counter() - t_build
        expr = built.objectives["tardiness"]
        if restoring:
            # fewest moves, the modelled jobs' tardiness may grow by what the tolerance leaves
            now = {j.job: j.weighted_tardiness for j in best.jobs}
            slack = max(0, math.floor(floor * (1 + tolerance)) - best.total_weighted_tardiness)
            if not isinstance(expr, int):
                built.model.add(expr <= sum(now.get(j.id, 0) for j in built.jobs) + slack)
            built.model.minimize(built.objectives["moves"])
        elif stable:
            tie = len(built.moved) + 1
            built.model.minimize(cp_model.LinearExpr.weighted_sum([expr, built.objectives["moves"]], [tie, 1]))
        else:
            built.model.minimize(expr)
        solver = cp_model.CpSolver()
        piece_s = PIECE_S if local else PIECE_S_SMALL
        solver.parameters.max_time_in_seconds = min(piece_s, max(0.05, deadline - time.perf_counter() - 0.05))
        solver.parameters.num_workers = num_workers
        solver.parameters.cp_model_probing_level = 0
        solver.parameters.random_seed = seed + round_
        t_solve = time.perf_counter()
        status = solver.solve(built.model)
        log.debug(
            "lns round %d: %d free, build %.2f s, solve %.2f s %s, width %d",
            round_,
            len(free),
            build_s,
            time.perf_counter() - t_solve,
            solver.status_name(status),
            width,
        )
        if status == cp_model.OPTIMAL:
            width = min(width * 5 // 4, 2 * problem.day_minutes)  # pieces solve: try bigger ones
        else:
            width = max(width * 4 // 5, problem.day_minutes // 8)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            continue
        values = list(solver.response_proto.solution)
        ops = extract(built, lookup(values))
        candidate = build_solution(problem, ops, solver="cp-sat", status=SolveStatus.FEASIBLE)
        floor = min(floor, candidate.total_weighted_tardiness)
        if _score(candidate, stable, floor, tolerance) < _score(best, stable, floor, tolerance):
            best = candidate
            if on_improve is not None:
                on_improve(best)
    return best
