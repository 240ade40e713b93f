"""Scheduling benchmark: prints figures (not a test).

1. CP-SAT on classic instances (ft06, mk01, ft10, la01-la05): makespan vs best known, gap, status, wall.
2. Generated plant order books (100-2,000 operations): weighted tardiness and on-time rate of CP-SAT vs
   the dispatch rules EDD, SPT, ATC, CR on the same books, the time to the first plan, and (from 1,000
   operations) CP-SAT within the 5 s replan budget too.
3. A breakdown mid-plan on the largest book: a heading machine stops for some hours; replan with
   frozen started work, the previous plan as hint and the stability stage, beside a replan from scratch.
4-6. See `benchmarks/schedule_tables.py`: the breakdown replan repeated (min/median/max), multi-day
   operations on the bottleneck, the rush reserve by eligible and ineligible rush orders.

Run: .venv/bin/python benchmarks/schedule.py [--benchmarks DIR] [--workers 2] ...
(DIR defaults to the instances shipped in rescheduler/instances/data/.)
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rescheduler.dispatch import Rule, dispatch
from rescheduler.instances import DATA_DIR, load
from rescheduler.instances.orderbook import generate
from rescheduler.instances.scenario import breakdown
from rescheduler.model import OnSolution, Problem, Solution, SolveParams, check, metrics, solve
from rescheduler.model.solution import moved_ops

try:  # run as a script (benchmarks/ on the path) or as a module
    import schedule_tables as tables  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover
    from benchmarks import schedule_tables as tables  # type: ignore[no-redef,unused-ignore]

# instance -> (format, time limit in seconds)
INSTANCES: dict[str, tuple[str, float]] = {
    "ft06": ("jssp", 10),
    "mk01": ("fjsp", 10),
    "ft10": ("jssp", 60),
    **{f"la0{i}": ("jssp", 30) for i in range(1, 6)},
}
console = Console(width=150)  # wide tables stay readable when piped to a file


def _stopwatch(first: list[float], t0: float) -> OnSolution:
    """Records when each intermediate plan arrives (the first one is the time to a usable plan)."""

    def mark(_plan: Solution) -> None:
        first.append(time.perf_counter() - t0)

    return mark


def _checked(problem: Problem, solution: Solution) -> Solution:
    violations = check(problem, solution)
    if violations:
        raise SystemExit(f"{problem.name} {solution.solver}: {len(violations)} violations, first {violations[0]}")
    return solution


def classic(root: Path, workers: int, scale: float) -> list[dict[str, Any]]:
    table = Table(title=f"1. CP-SAT on classic instances ({workers} workers, makespan)")
    cols = ("instance", "ops", "makespan", "best known", "gap %", "bound", "status", "wall s", "≤1% at s", "limit s")
    for col in cols:
        table.add_column(col, justify="right")
    rows = []
    for name, (fmt, limit) in INSTANCES.items():
        folder = root / fmt
        path = folder / f"{name}.{'txt' if fmt == 'jssp' else 'fjs'}"
        problem = load(path, "jssp" if fmt == "jssp" else "fjsp")
        best = json.loads((folder / "bounds.json").read_text())[name]["upper_bound"]
        found: list[tuple[float, int]] = []
        t0 = time.perf_counter()

        def mark(plan: Solution, found: list[tuple[float, int]] = found, t0: float = t0) -> None:
            found.append((time.perf_counter() - t0, plan.makespan))

        params = SolveParams(objective="makespan", time_limit_s=limit * scale, num_workers=workers)
        solution = _checked(problem, solve(problem, params, mark))
        within_1pct = next((t for t, m in found if m <= best * 1.01), None)
        gap = 100.0 * (solution.makespan - best) / best
        row = {
            "instance": name,
            "operations": problem.op_count(),
            "makespan": solution.makespan,
            "best_known": best,
            "gap_pct": round(gap, 2),
            "lower_bound": solution.bounds["makespan"],
            "status": solution.status.value,
            "wall_s": round(solution.wall_s, 2),
            "within_1pct_s": round(within_1pct, 2) if within_1pct is not None else None,
        }
        rows.append(row)
        table.add_row(
            name,
            str(row["operations"]),
            str(solution.makespan),
            str(best),
            f"{gap:.2f}",
            f"{solution.bounds['makespan']:.0f}",
            solution.status.value,
            f"{solution.wall_s:.2f}",
            f"{within_1pct:.2f}" if within_1pct is not None else "-",
            f"{limit * scale:g}",
        )
    console.print(table)
    return rows


def order_books(
    sizes: list[int], seed: int, time_limit: float, workers: int
) -> tuple[list[dict[str, Any]], dict[int, tuple[Problem, Solution]]]:
    table = Table(
        title=f"2. Plant order books: weighted tardiness / on-time rate (CP-SAT {time_limit:g} s, {workers} workers)"
    )
    for col in ("ops", "jobs", *(r.value.upper() for r in Rule), "CP-SAT", "vs best rule", "first plan s", "in 5 s"):
        table.add_column(col, justify="right")
    rows, plans = [], {}
    for size in sizes:
        book = generate(size, seed=seed)
        rules = {rule.value: _checked(book, dispatch(book, rule)) for rule in Rule}
        first: list[float] = []
        t0 = time.perf_counter()
        cp = _checked(
            book,
            solve(
                book,
                SolveParams(time_limit_s=time_limit, num_workers=workers),
                on_solution=_stopwatch(first, t0),
            ),
        )
        best_rule = min(rules.values(), key=lambda s: s.total_weighted_tardiness)
        base = best_rule.total_weighted_tardiness
        reduction = 100.0 * (base - cp.total_weighted_tardiness) / base if base else 0.0
        in_budget = None
        if size >= 1000:  # plant scale: what the 5 s replan budget gets too
            quick = _checked(book, solve(book, SolveParams(time_limit_s=5.0, num_workers=workers)))
            in_budget = 100.0 * (base - quick.total_weighted_tardiness) / base if base else 0.0
        plans[size] = (book, cp)
        rows.append(
            {
                "operations": size,
                "jobs": len(book.jobs),
                "rules": {
                    k: {"weighted_tardiness": v.total_weighted_tardiness, "on_time_rate": round(v.on_time_rate, 3)}
                    for k, v in rules.items()
                },
                "cpsat": {
                    "weighted_tardiness": cp.total_weighted_tardiness,
                    "on_time_rate": round(cp.on_time_rate, 3),
                    "makespan": cp.makespan,
                    "status": cp.status.value,
                    "wall_s": round(cp.wall_s, 2),
                    "first_plan_s": round(first[0], 2) if first else None,
                },
                "best_rule": best_rule.solver,
                "reduction_vs_best_rule_pct": round(reduction, 1),
                "reduction_in_5s_pct": round(in_budget, 1) if in_budget is not None else None,
            }
        )
        cells = [f"{v.total_weighted_tardiness} / {v.on_time_rate:.0%}" for v in rules.values()]
        table.add_row(
            str(size),
            str(len(book.jobs)),
            *cells,
            f"{cp.total_weighted_tardiness} / {cp.on_time_rate:.0%}",
            f"{reduction:.1f}% less ({best_rule.solver})",
            f"{first[0]:.2f}" if first else "-",
            f"{in_budget:.1f}% less" if in_budget is not None else "-",
        )
    console.print(table)
    return rows, plans


def replan(
    book: Problem, plan: Solution, *, now: int, machine: str, minutes: int, time_limit: float, workers: int
) -> dict[str, Any]:
    problem = breakdown(book, plan, now=now, machine=machine, minutes=minutes)
    free = len(problem.previous) - sum(1 for _, op in problem.operations() if op.frozen is not None)
    results: dict[str, Any] = {
        "operations": book.op_count(),
        "replannable": free,
        "machine": machine,
        "at_min": now,
        "down_min": minutes,
    }
    table = Table(
        title=f"3. Breakdown: {machine} down {minutes // 60} h at t={now // 60} h on the {book.op_count()}-op book "
        f"({free} operations free to move, limit {time_limit:g} s)"
    )
    for col in (
        "replan",
        "first plan s",
        "final plan s",
        "moved",
        "moved %",
        "weighted tardiness",
        "on time",
        "status",
    ):
        table.add_column(col, justify="right")
    for label, variant in (
        ("stable (hint + stability)", problem),
        ("from scratch", problem.model_copy(update={"previous": ()})),
    ):
        first: list[float] = []
        t0 = time.perf_counter()
        sol = _checked(
            problem,
            solve(
                variant,
                SolveParams(time_limit_s=time_limit, num_workers=workers),
                on_solution=_stopwatch(first, t0),
            ),
        )
        wall = time.perf_counter() - t0
        moved = len(moved_ops(problem, sol.ops))
        key = "stable" if variant is problem else "scratch"
        results[key] = {
            "first_plan_s": round(first[0], 2) if first else None,
            "final_plan_s": round(wall, 2),
            "moved": moved,
            "moved_share": round(moved / free, 3) if free else 0.0,
            "weighted_tardiness": sol.total_weighted_tardiness,
            "on_time_rate": round(sol.on_time_rate, 3),
            "status": sol.status.value,
        }
        if variant is problem:
            assert metrics(problem, sol).moved == moved
        table.add_row(
            label,
            f"{first[0]:.2f}" if first else "-",
            f"{wall:.2f}",
            str(moved),
            f"{100 * moved / free:.1f}",
            str(sol.total_weighted_tardiness),
            f"{sol.on_time_rate:.0%}",
            sol.status.value,
        )
    console.print(table)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmarks", type=Path, default=DATA_DIR)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--classic-scale", type=float, default=1.0, help="multiply the classic time limits")
    parser.add_argument("--sizes", default="100,200,300,400,1000,2000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--book-time", type=float, default=20.0, help="CP-SAT seconds per order book")
    parser.add_argument("--replan-time", type=float, default=4.5, help="solver limit; the goal is a plan in 5 s")
    parser.add_argument("--skip-classic", action="store_true")
    parser.add_argument("--replan-runs", type=int, default=5, help="breakdown replans per variant (table 4)")
    parser.add_argument("--skip-extra", action="store_true", help="skip tables 4-6")
    args = parser.parse_args()
    t0 = time.perf_counter()
    report: dict[str, Any] = {"workers": args.workers}
    if not args.skip_classic:
        report["classic"] = classic(args.benchmarks.resolve(), args.workers, args.classic_scale)
    sizes = [int(s) for s in args.sizes.split(",")]
    report["order_books"], plans = order_books(sizes, args.seed, args.book_time, args.workers)
    book, plan = plans[max(sizes)]
    report["breakdown"] = replan(
        book, plan, now=8 * 60, machine="HEAD1", minutes=4 * 60, time_limit=args.replan_time, workers=args.workers
    )
    if not args.skip_extra:
        report["breakdown_runs"] = {
            str(size): tables.replan_runs(
                console, *plans[size], runs=args.replan_runs, time_limit=args.replan_time, workers=args.workers
            )
            for size in sorted({s for s in sizes if s in (400, max(sizes))})
        }
        report["long_operations"] = tables.long_operations(
            console, size=min(400, max(sizes)), seed=args.seed, time_limit=args.book_time, workers=args.workers
        )
        reserve_size = 400 if 400 in plans else max(sizes)
        report["rush_reserve"] = tables.reserve_use(console, *plans[reserve_size])
    report["total_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
