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

import bisect
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
    """Machine timelines plus per-day reserve usage, for placing operations one at a time.

    Each machine's busy intervals are disjoint and kept sorted (parallel start/end lists), so the first
    clash after a time is a bisection away. `version` counts changes per machine, so a candidate's best
    placement is recomputed only when one of its machines (or its workcenter's reserve) changed.
    """

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.starts: dict[str, list[int]] = defaultdict(list)
        self.ends: dict[str, list[int]] = defaultdict(list)
        for machine, ivs in calendar.blocked(problem).items():
            self.starts[machine] = [s for s, _ in ivs]
            self.ends[machine] = [e for _, e in ivs]
        self.version: dict[str, int] = defaultdict(int)
        self.reserve_of = {m: r for r in problem.reserves for m in r.machines}
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
        reserve = self.reserve_of.get(machine) if job.id in self.normal and dur > 0 else None
        starts, ends = self.starts[machine], self.ends[machine]
        start = ready
        while start <= self.give_up:
            i = bisect.bisect_right(ends, start)  # first busy interval ending after `start`
            if dur > 0 and i < len(starts) and starts[i] < start + dur:
                start = ends[i]
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
        if dur > 0:
            i = bisect.bisect_right(self.ends[machine], start)
            self.starts[machine].insert(i, start)
            self.ends[machine].insert(i, start + dur)
        self.version[machine] += 1
        reserve = self.reserve_of.get(machine)
        if reserve is not None and job.id in self.normal and dur > 0:
            day = (start - self.problem.day_origin) // self.problem.day_minutes
            self.limit_left[(reserve.workcenter, day)] = self._left(reserve, day) - dur
            for m in reserve.machines:
                self.version[m] += 1
        return ScheduledOp(job=job.id, seq=op.seq, machine=machine, start=start, end=start + dur)


Priority = Callable[[Job, int, int], float]  # (job, index of its next op, time) -> key, lower first


def _priority(rule: Rule, atc_k: float, problem: Problem) -> Priority:
    remaining = {
        job.id: [sum(min(op.durations.values()) for op in job.operations[k:]) for k in range(len(job.operations))]
        for job in problem.jobs
    }

    def work(job: Job, k: int) -> int:
        return remaining[job.id][k]

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
    rule = Rule(rule)
    return _list_schedule(problem, _priority(rule, atc_k, problem), str(rule))


def repair(problem: Problem) -> Solution:
    """Right-shift repair of `problem.previous`: same machines, same order per machine, nothing earlier.

    Operations keep their previous machine (if still eligible) and are taken in previous start order,
    each at the earliest feasible time not before its previous start; operations new to the plan come
    after, by due date. Only what the change (breakdown, new order) pushes actually moves: a feasible,
    stable starting point (the CP-SAT model's hint on a replan).
    """
    before = {p.key: p for p in problem.previous}
    late = max((p.start for p in problem.previous), default=0) + 1

    def key(job: Job, k: int, t: int) -> float:
        prev = before.get((job.id, job.operations[k].seq))
        return prev.start if prev is not None else late + (job.due if job.due is not None else math.inf)

    def placement(job: Job, op: Operation) -> tuple[dict[str, int], int]:
        prev = before.get((job.id, op.seq))
        if prev is None:
            return op.durations, 0
        if prev.machine in op.durations:
            return {prev.machine: op.durations[prev.machine]}, prev.start
        return op.durations, prev.start

    return _list_schedule(problem, key, "repair", placement=placement, non_delay=False)


Placer = Callable[[Job, Operation], tuple[dict[str, int], int]]  # -> (candidate machines, not before)


def _list_schedule(
    problem: Problem, key: Priority, name: str, *, placement: Placer | None = None, non_delay: bool = True
) -> Solution:
    t0 = time.perf_counter()
    shop = _Shop(problem)
    placed: list[ScheduledOp] = calendar.frozen_ops(problem)
    nxt = {job.id: 0 for job in problem.jobs}
    ready = {job.id: max(0, job.release) for job in problem.jobs}
    pending = {job.id: job for job in problem.jobs}
    cache: dict[str, tuple[tuple[int, ...], tuple[int, int, str, Job]]] = {}
    while pending:
        options: list[tuple[int, int, str, Job]] = []  # (completion, start, machine, job) best per job
        for job in list(pending.values()):
            op = job.operations[nxt[job.id]]
            if op.frozen is not None:  # already on the plan: advance past it
                ready[job.id] = max(ready[job.id], op.frozen.end)
                _advance(job, nxt, pending)
                break
            stamp = (nxt[job.id], *(shop.version[m] for m in sorted(op.durations)))
            cached = cache.get(job.id)
            if cached is not None and cached[0] == stamp:
                options.append(cached[1])
                continue
            machines, not_before = placement(job, op) if placement else (op.durations, 0)
            best = None
            for machine, dur in sorted(machines.items()):
                start = shop.earliest(job, machine, dur, max(ready[job.id], not_before))
                if start is not None and (best is None or (start + dur, start) < best[:2]):
                    best = (start + dur, start, machine, job)
            if best is None:
                raise NoSolutionError("INFEASIBLE", f"{name}: {job.id}/{op.seq} fits on no machine")
            cache[job.id] = (stamp, best)
            options.append(best)
        else:
            c_star = min(o[0] for o in options)
            conflict = [o for o in options if o[1] < c_star or not non_delay] or [
                min(options, key=lambda o: (o[0], o[1], o[3].id))
            ]
            t = min(o[1] for o in conflict)
            _, start, machine, job = min(conflict, key=lambda o: (key(o[3], nxt[o[3].id], t), o[1], o[3].id))
            done = shop.place(job, job.operations[nxt[job.id]], machine, start)
            placed.append(done)
            ready[job.id] = done.end
            _advance(job, nxt, pending)
    return build_solution(problem, placed, solver=name, status=SolveStatus.FEASIBLE, wall_s=time.perf_counter() - t0)


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
