"""Tables of `benchmarks/schedule.py` added with issue 19 (not a test; figures vary on a shared machine):

4. The breakdown replan repeated (different seeds): min / median / max of wall time, moved share and
   weighted tardiness, stable (previous plan as start, tolerance) beside from scratch.
5. A book with multi-day operations on the bottleneck (heading): every operation planned, valid.
6. The rush reserve: eligible and ineligible rush orders, and how much reserve the eligible ones used.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from rescheduler.dispatch import Rule, dispatch
from rescheduler.instances.orderbook import generate
from rescheduler.instances.scenario import breakdown
from rescheduler.model import Operation, Problem, Solution, SolveParams, calendar, check, solve
from rescheduler.model.solution import moved_ops


def _checked(problem: Problem, solution: Solution) -> Solution:
    violations = check(problem, solution)
    if violations:
        raise SystemExit(f"{problem.name} {solution.solver}: {len(violations)} violations, first {violations[0]}")
    return solution


def _spread(values: list[float]) -> str:
    return f"{min(values):g} / {statistics.median(values):g} / {max(values):g}"


def replan_runs(
    console: Console, book: Problem, plan: Solution, *, runs: int, time_limit: float, workers: int
) -> dict[str, Any]:
    problem = breakdown(book, plan, now=8 * 60, machine="HEAD1", minutes=4 * 60)
    free = len(problem.previous) - sum(1 for _, op in problem.operations() if op.frozen is not None)
    table = Table(
        title=f"4. Breakdown replan x{runs} on the {book.op_count()}-op book (HEAD1 down 4 h at t=8 h, "
        f"{free} free, limit {time_limit:g} s): min / median / max"
    )
    for col in ("replan", "wall s", "moved %", "weighted tardiness", "on time %"):
        table.add_column(col, justify="right")
    out: dict[str, Any] = {"operations": book.op_count(), "replannable": free, "runs": runs}
    for label, variant in (("stable", problem), ("from scratch", problem.model_copy(update={"previous": ()}))):
        walls, moved, tardiness, on_time = [], [], [], []
        for seed in range(runs):
            t0 = time.perf_counter()
            params = SolveParams(time_limit_s=time_limit, num_workers=workers, random_seed=seed)
            sol = _checked(problem, solve(variant, params))
            walls.append(round(time.perf_counter() - t0, 2))
            moved.append(round(100 * len(moved_ops(problem, sol.ops)) / free, 1) if free else 0.0)
            tardiness.append(float(sol.total_weighted_tardiness))
            on_time.append(round(100 * sol.on_time_rate, 1))
        out[label] = {"wall_s": walls, "moved_pct": moved, "weighted_tardiness": tardiness, "on_time_pct": on_time}
        table.add_row(label, _spread(walls), _spread(moved), _spread(tardiness), _spread(on_time))
    console.print(table)
    return out


def _with_long_heading(book: Problem, every: int, minutes: int) -> Problem:
    """Every `every`-th job's heading operation takes `minutes` (more than a day)."""
    jobs = []
    for i, job in enumerate(book.jobs):
        if i % every == 0:
            ops = tuple(
                Operation(seq=op.seq, durations={m: minutes for m in op.durations}, may_pause=op.may_pause)
                if any(m.startswith("HEAD") for m in op.durations)
                else op
                for op in job.operations
            )
            job = job.model_copy(update={"operations": ops})
        jobs.append(job)
    return book.model_copy(update={"jobs": tuple(jobs), "name": f"{book.name}+long"})


def long_operations(console: Console, *, size: int, seed: int, time_limit: float, workers: int) -> dict[str, Any]:
    book = _with_long_heading(generate(size, seed=seed), every=10, minutes=2000)
    long_ops = sum(1 for _, op in book.operations() if max(op.durations.values()) > book.day_minutes)
    rules = {r.value: _checked(book, dispatch(book, r)) for r in Rule}
    cp = _checked(book, solve(book, SolveParams(time_limit_s=time_limit, num_workers=workers)))
    best = min(rules.values(), key=lambda s: s.total_weighted_tardiness)
    table = Table(
        title=f"5. Multi-day operations on the bottleneck: {size}-op book, {long_ops} heading ops of 2,000 min"
    )
    for col in ("plan", "planned ops", "weighted tardiness", "on time", "valid"):
        table.add_column(col, justify="right")
    for name, sol in [*rules.items(), ("CP-SAT", cp)]:
        table.add_row(name, str(len(sol.ops)), str(sol.total_weighted_tardiness), f"{sol.on_time_rate:.0%}", "yes")
    console.print(table)
    reduction = (
        100 * (best.total_weighted_tardiness - cp.total_weighted_tardiness) / max(1, best.total_weighted_tardiness)
    )
    return {
        "operations": book.op_count(),
        "long_operations": long_ops,
        "cpsat_weighted_tardiness": cp.total_weighted_tardiness,
        "best_rule": best.solver,
        "best_rule_weighted_tardiness": best.total_weighted_tardiness,
        "reduction_vs_best_rule_pct": round(reduction, 1),
    }


def reserve_use(console: Console, book: Problem, plan: Solution) -> dict[str, Any]:
    """Reserve minutes used by eligible rush orders (their work beyond the normal limit of a day)."""
    table = Table(title=f"6. Rush reserve on the {book.op_count()}-op book (CP-SAT plan)")
    for col in ("orders", "jobs", "on time", "mean tardiness min", "reserve used min"):
        table.add_column(col, justify="right")
    results = {j.job: j for j in plan.jobs}
    groups = {
        "rush, eligible": [j for j in book.jobs if j.rush and j.reserve_eligible],
        "rush, not eligible": [j for j in book.jobs if j.rush and not j.reserve_eligible],
        "normal": [j for j in book.jobs if not j.rush],
    }
    down = calendar.unavailable(book)
    eligible = {j.id for j in groups["rush, eligible"]}
    normal = calendar.normal_jobs(book)
    used_reserve = 0
    for reserve in book.reserves:
        by_normal = calendar.usage_by_day(book, reserve, plan.ops, normal, down)
        by_eligible = calendar.usage_by_day(book, reserve, plan.ops, eligible, down)
        for day, used in by_eligible.items():
            limit = calendar.reserve_limit(book, reserve, day, down)
            used_reserve += min(used, max(0, by_normal.get(day, 0) + used - limit))
    out: dict[str, Any] = {"reserve_used_by_eligible_min": used_reserve}
    for name, jobs in groups.items():
        res = [results[j.id] for j in jobs]
        on_time = sum(1 for r in res if r.tardiness == 0) / len(res) if res else 1.0
        mean = statistics.mean(r.tardiness for r in res) if res else 0.0
        reserve_min = str(used_reserve) if name == "rush, eligible" else "0 (normal capacity)"
        table.add_row(name, str(len(jobs)), f"{on_time:.0%}", f"{mean:.0f}", reserve_min)
        out[name] = {"jobs": len(jobs), "on_time_rate": round(on_time, 3), "mean_tardiness_min": round(mean, 1)}
    console.print(table)
    return out
