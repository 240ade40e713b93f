"""Dispatch-rule baselines: list scheduling with a priority rule (EDD, SPT, ATC, CR).

Schedule generation (Giffler-Thompson style, on machine calendars): the candidates are each job's next
unscheduled operation; c* is the earliest completion any candidate can reach on any eligible machine;
among the candidates that can start before c* the priority rule picks one, which goes to the eligible
machine where it completes earliest. "Can start" honours release, precedence, frozen work, machine
unavailability (no spanning) and the rush reserve the same way the CP-SAT model does (a normal job's
operation on a reserved workcenter lies within one day, under the day's limit), so every plan is valid
for the checker and a feasible hint for the model.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from enum import StrEnum

from rescheduler.model import calendar
from rescheduler.model.build import safe_horizon
from rescheduler.model.problem import Job, Operation, Problem, RushReserve, ScheduledOp
from rescheduler.model.solution import NoSolutionError, Solution, SolveStatus, build_solution


class Rule(StrEnum):
    EDD = "edd"  # earliest due date
    SPT = "spt"  # shortest processing time
    ATC = "atc"  # apparent tardiness cost
    CR = "cr"  # critical ratio: slack time / remaining work


class _Shop:
    """Machine timelines plus per-day reserve usage, for placing operations one at a time."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.busy: dict[str, list[tuple[int, int]]] = defaultdict(list, calendar.blocked(problem))
        self.normal = calendar.normal_jobs(problem)
        self.limit_left: dict[tuple[str, int], int] = {}
        self.give_up = safe_horizon(problem) + 2 * problem.day_minutes * (1 + problem.op_count())
        self._down = calendar.unavailable(problem)
        self._frozen = calendar.frozen_ops(problem)

    def _left(self, reserve: RushReserve, day: int) -> int:
        """Machine-minutes normal jobs may still use on the workcenter that day (computed on first use)."""
        key = (reserve.workcenter, day)
        if key not in self.limit_left:
            used = calendar.reserve_usage(self.problem, reserve, day, self._frozen, self.normal)
            self.limit_left[key] = max(0, calendar.reserve_limit(self.problem, reserve, day, self._down) - used)
        return self.limit_left[key]

    def earliest(self, job: Job, machine: str, dur: int, ready: int) -> int | None:
        reserve = self.problem.reserve_of(machine) if job.id in self.normal and dur > 0 else None
        start = ready
        while start <= self.give_up:
            clash = next((e for s, e in self.busy[machine] if s < start + dur and start < e and dur > 0), None)
            if clash is not None:
                start = clash
                continue
            if reserve is None:
                return start
            moved = self._reserve_fit(reserve, start, dur)
            if moved == start:
                return start
            if moved is None:
                return None
            start = moved
        return None

    def _reserve_fit(self, reserve: RushReserve, start: int, dur: int) -> int | None:
        """`start` if the op fits its day's window and reserve limit, else the next day's start (None: never)."""
        if dur > self.problem.day_minutes:
            return None
        day = (start - self.problem.day_origin) // self.problem.day_minutes
        _, hi = calendar.day_window(self.problem, day)
        if start + dur <= hi and self._left(reserve, day) >= dur:
            return start
        return hi

    def place(self, job: Job, op: Operation, machine: str, start: int) -> ScheduledOp:
        dur = op.durations[machine]
        self.busy[machine].append((start, start + dur))
        reserve = self.problem.reserve_of(machine)
        if reserve is not None and job.id in self.normal and dur > 0:
            day = (start - self.problem.day_origin) // self.problem.day_minutes
            self.limit_left[(reserve.workcenter, day)] = self._left(reserve, day) - dur
        return ScheduledOp(job=job.id, seq=op.seq, machine=machine, start=start, end=start + dur)


Priority = Callable[[Job, int, int], float]  # (job, index of its next op, time) -> key, lower first


def _priority(rule: Rule, atc_k: float, problem: Problem) -> Priority:
    def work(job: Job, k: int) -> int:
        return sum(min(op.durations.values()) for op in job.operations[k:])

    all_ops = [min(op.durations.values()) for _, op in problem.operations()]
    mean_p = max(1.0, sum(all_ops) / len(all_ops))

    def edd(job: Job, k: int, t: int) -> float:
        return job.due if job.due is not None else math.inf

    def spt(job: Job, k: int, t: int) -> float:
        return min(job.operations[k].durations.values())

    def atc(job: Job, k: int, t: int) -> float:
        p = max(1, min(job.operations[k].durations.values()))
        if job.due is None:
            return 0.0
        slack = max(0.0, job.due - work(job, k) - t)
        return -(job.weight / p) * math.exp(-slack / (atc_k * mean_p))

    def cr(job: Job, k: int, t: int) -> float:
        if job.due is None:
            return math.inf
        return (job.due - t) / max(1, work(job, k))

    return {Rule.EDD: edd, Rule.SPT: spt, Rule.ATC: atc, Rule.CR: cr}[rule]


def dispatch(problem: Problem, rule: Rule | str, *, atc_k: float = 2.0) -> Solution:
    """Build a plan with one priority rule; raise `NoSolutionError` if some operation fits nowhere."""
    t0 = time.perf_counter()
    rule = Rule(rule)
    key = _priority(rule, atc_k, problem)
    shop = _Shop(problem)
    placed: list[ScheduledOp] = calendar.frozen_ops(problem)
    nxt = {job.id: 0 for job in problem.jobs}
    ready = {job.id: max(0, job.release) for job in problem.jobs}
    pending = {job.id: job for job in problem.jobs}
    while pending:
        options: list[tuple[int, int, str, Job]] = []  # (completion, start, machine, job) best per job
        for job in list(pending.values()):
            op = job.operations[nxt[job.id]]
            if op.frozen is not None:  # already on the plan: advance past it
                ready[job.id] = max(ready[job.id], op.frozen.end)
                _advance(job, nxt, pending)
                break
            best = None
            for machine, dur in sorted(op.durations.items()):
                start = shop.earliest(job, machine, dur, ready[job.id])
                if start is not None and (best is None or (start + dur, start) < best[:2]):
                    best = (start + dur, start, machine, job)
            if best is None:
                raise NoSolutionError("INFEASIBLE", f"{rule}: {job.id}/{op.seq} fits on no machine")
            options.append(best)
        else:
            c_star = min(o[0] for o in options)
            conflict = [o for o in options if o[1] < c_star] or [min(options)]
            t = min(o[1] for o in conflict)
            _, start, machine, job = min(conflict, key=lambda o: (key(o[3], nxt[o[3].id], t), o[1], o[3].id))
            done = shop.place(job, job.operations[nxt[job.id]], machine, start)
            placed.append(done)
            ready[job.id] = done.end
            _advance(job, nxt, pending)
    return build_solution(
        problem, placed, solver=str(rule), status=SolveStatus.FEASIBLE, wall_s=time.perf_counter() - t0
    )


def _advance(job: Job, nxt: dict[str, int], pending: dict[str, Job]) -> None:
    nxt[job.id] += 1
    if nxt[job.id] >= len(job.operations):
        del pending[job.id]


def best_rule_plan(problem: Problem, rules: tuple[Rule, ...] = tuple(Rule)) -> Solution | None:
    """The rule plan with the least weighted tardiness (then makespan); None if no rule finds a plan."""
    plans = []
    for rule in rules:
        try:
            plans.append(dispatch(problem, rule))
        except NoSolutionError:
            continue
    return min(plans, key=lambda s: (s.total_weighted_tardiness, s.makespan), default=None)
