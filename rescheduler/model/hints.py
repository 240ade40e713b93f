"""Turning plans into complete CP-SAT hints, and solver values back into plans, for a `BuiltModel`."""

from __future__ import annotations

from collections.abc import Callable

from ortools.sat.python import cp_model

from rescheduler.model.build import BuiltModel
from rescheduler.model.problem import Problem, ScheduledOp


def hint_plan(built: BuiltModel, problem: Problem, plan: list[ScheduledOp] | tuple[ScheduledOp, ...]) -> None:
    """Hint every variable the plan determines (starts, machines, days, lateness, makespan, moves)."""
    model = built.model
    model.clear_hints()  # type: ignore[no-untyped-call]
    by_key = {op.key: op for op in plan}
    for key, start in built.starts.items():
        op = by_key.get(key)
        if op is None:
            continue
        model.add_hint(start, op.start)
        lits = built.presence[key]
        if len(lits) > 1:
            for machine, lit in lits.items():
                model.add_hint(lit, machine == op.machine)
    for (key, machine, cand_start), z in built.cand_lits.items():
        op = by_key.get(key)
        if op is not None:
            model.add_hint(z, op.machine == machine and op.start == cand_start)
    for (key, machine), size in built.sizes.items():
        op = by_key.get(key)
        if op is not None:
            model.add_hint(size, op.end - op.start if op.machine == machine else 0)
    for (key, machine, day), z in built.day_lits.items():
        op = by_key.get(key)
        if op is not None:
            model.add_hint(z, op.machine == machine and (op.start - problem.day_origin) // problem.day_minutes == day)
    ends: dict[str, int] = {}
    for op in [*built.frozen, *built.fixed.values(), *plan]:
        ends[op.job] = max(ends.get(op.job, op.end), op.end)
    for job in problem.jobs:
        if job.id in built.late and job.id in ends and job.due is not None:
            model.add_hint(built.late[job.id], max(0, ends[job.id] - job.due))
    if built.makespan is not None and ends:
        model.add_hint(built.makespan, max(ends.values()))
    previous = {p.key: p for p in problem.previous}
    for key, (moved, shift) in built.moved.items():
        op = by_key.get(key)
        if op is not None:
            prev = previous[key]
            model.add_hint(moved, op.machine != prev.machine or op.start != prev.start)
            model.add_hint(shift, abs(op.start - prev.start))


def lookup(values: list[int]) -> Callable[[cp_model.IntVar], int]:
    """Variable -> value in a solver response's solution vector."""
    return lambda var: int(values[var.index])


def extract(built: BuiltModel, value: Callable[[cp_model.IntVar], int]) -> list[ScheduledOp]:
    ops = [*built.frozen, *built.fixed.values()]
    for key, start_var in built.starts.items():
        start = value(start_var)
        lits = built.presence[key]
        machine = next(iter(lits)) if len(lits) == 1 else next(m for m, lit in lits.items() if value(lit))
        size = built.sizes.get((key, machine))
        end = start + (value(size) if size is not None else built.durations[key][machine])
        ops.append(ScheduledOp(job=key[0], seq=key[1], machine=machine, start=start, end=end))
    return ops
