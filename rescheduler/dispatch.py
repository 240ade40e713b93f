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
import heapq
import math
import time
from collections import defaultdict
from collections.abc import Callable
from enum import StrEnum

from rescheduler.model import calendar, spans
from rescheduler.model.build import safe_horizon
from rescheduler.model.problem import Job, Operation, Problem, RushReserve, ScheduledOp
from rescheduler.model.solution import NoSolutionError, Solution, SolveStatus, build_solution


class Rule(StrEnum):
    EDD = "edd"  # earliest due date
    SPT = "spt"  # shortest processing time
    ATC = "atc"  # apparent tardiness cost
    CR = "cr"  # critical ratio: slack time / remaining work


class Shop:
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
        self.times = spans.machine_times(problem)
        self._long: dict[tuple[str, int, str], bool] = {}
        # each machine's work (frozen and placed operations) as sorted (start, end), for long operations
        self.work: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for f in self._frozen:
            bisect.insort(self.work[f.machine], (f.start, f.end))

    def _left(self, reserve: RushReserve, day: int) -> int:
        """Machine-minutes normal jobs may still use on the workcenter that day (computed on first use)."""
        key = (reserve.workcenter, day)
        if key not in self.limit_left:
            used = calendar.reserve_usage(self.problem, reserve, day, self._frozen, self.normal, self._down)
            self.limit_left[key] = max(0, calendar.reserve_limit(self.problem, reserve, day, self._down) - used)
        return self.limit_left[key]

    def is_long(self, job: Job, op: Operation, machine: str) -> bool:
        key = (job.id, op.seq, machine)
        if key not in self._long:
            reserved = machine in self.reserve_of and job.id in self.normal
            self._long[key] = spans.is_long(self.problem, op, machine, self.times[machine], reserved)
        return self._long[key]

    def earliest(self, job: Job, op: Operation, machine: str, ready: int) -> int | None:
        dur = op.durations[machine]
        if self.is_long(job, op, machine):
            return self._earliest_long(job, op, machine, ready)
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

    def _earliest_long(self, job: Job, op: Operation, machine: str, ready: int) -> int | None:
        """The first of the model's candidate starts (`rescheduler.model.spans`) at or after `ready` that is
        clear of other work and within the reserve of every day it spans."""
        dur = op.durations[machine]
        times = self.times[machine]
        how = spans.mode(self.problem, op, machine)
        reserve = self.reserve_of.get(machine) if job.id in self.normal else None
        work = self.work[machine]
        work_starts = [s for s, _ in work]
        for start in spans.iter_grid(times, max(0, job.release), ready, self.give_up):
            end = times.end(how, start, dur)
            if end is None:
                continue
            i = bisect.bisect_left(work_starts, end) - 1
            if i >= 0 and work[i][1] > start:  # work on one machine is disjoint
                continue
            usage = spans.day_usage(self.problem, start, end, times.down)
            if reserve is not None and any(self._left(reserve, day) < used for day, used in usage):
                continue
            return start
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

    def end_of(self, job: Job, op: Operation, machine: str, start: int) -> int:
        dur = op.durations[machine]
        if not self.is_long(job, op, machine):
            return start + dur
        end = self.times[machine].end(spans.mode(self.problem, op, machine), start, dur)
        if end is None:
            raise NoSolutionError("INFEASIBLE", f"{job.id}/{op.seq} may not start at {start} on {machine}")
        return end

    def book(self, job_id: str, machine: str, start: int, end: int, sign: int = 1) -> None:
        """Add (sign 1) or remove (sign -1) an operation's time on the machine and in the reserve."""
        if end > start:
            pieces = calendar.subtract((start, end), self.times[machine].down)
            for lo, hi in pieces:
                if sign > 0:
                    self._occupy(machine, lo, hi)
                else:
                    self._release(machine, lo, hi)
            if sign > 0:
                bisect.insort(self.work[machine], (start, end))
            else:
                self.work[machine].remove((start, end))
        self.version[machine] += 1
        reserve = self.reserve_of.get(machine)
        if reserve is not None and job_id in self.normal and end > start:
            for day, used in spans.day_usage(self.problem, start, end, self.times[machine].down):
                self.limit_left[(reserve.workcenter, day)] = self._left(reserve, day) - sign * used
            for m in reserve.machines:
                self.version[m] += 1

    def _occupy(self, machine: str, lo: int, hi: int) -> None:
        """Mark [lo, hi) busy, merging with busy time it touches: the search for a gap then hops over
        one interval per idle gap, not one per operation (back-to-back work is the common case)."""
        starts, ends = self.starts[machine], self.ends[machine]
        i = bisect.bisect_left(starts, lo)
        if i > 0 and ends[i - 1] == lo:
            i -= 1
            lo = starts[i]
            del starts[i], ends[i]
        if i < len(starts) and starts[i] == hi:
            hi = ends[i]
            del starts[i], ends[i]
        starts.insert(i, lo)
        ends.insert(i, hi)

    def _release(self, machine: str, lo: int, hi: int) -> None:
        """Free [lo, hi) again (it lies within one merged busy interval)."""
        starts, ends = self.starts[machine], self.ends[machine]
        i = bisect.bisect_right(starts, lo) - 1
        a, b = starts[i], ends[i]
        del starts[i], ends[i]
        for piece in ((hi, b), (a, lo)):  # inserted at i in reverse: (a, lo) ends up first
            if piece[1] > piece[0]:
                starts.insert(i, piece[0])
                ends.insert(i, piece[1])

    def place(self, job: Job, op: Operation, machine: str, start: int) -> ScheduledOp:
        end = self.end_of(job, op, machine, start)
        self.book(job.id, machine, start, end, 1)
        return ScheduledOp(job=job.id, seq=op.seq, machine=machine, start=start, end=end)

    def unplace(self, job: Job, op: ScheduledOp) -> None:
        """Take a placed operation off its machine again (and give its reserve minutes back)."""
        self.book(job.id, op.machine, op.start, op.end, -1)


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
    """Repair `problem.previous` by moving only the operations the change affects.

    Every previous placement that is still feasible (machine eligible, not blocked by unavailability or
    frozen work, within the rush reserve) is booked where it was. Then, job by job in previous-plan
    order, a booked operation is kept if its predecessor still ends in time; otherwise it, like every
    operation that could not be booked, is inserted at its earliest start in the gaps left between the
    bookings, on any eligible machine. Nothing else moves, so there is no right-shift cascade: a feasible,
    stable start (the CP-SAT model's hint on a replan). Operations new to the plan go last, by due date.
    """
    t0 = time.perf_counter()
    shop = Shop(problem)
    before = {p.key: p for p in problem.previous}
    booked: dict[tuple[str, int], ScheduledOp] = {}
    ops = {(job.id, op.seq): (job, op) for job, op in problem.operations() if op.frozen is None}
    for prev in sorted(problem.previous, key=lambda p: (p.start, p.machine, p.job, p.seq)):
        if prev.key not in ops:
            continue
        job, op = ops[prev.key]
        if prev.machine not in op.durations or prev.start < max(0, job.release):
            continue
        if shop.earliest(job, op, prev.machine, prev.start) == prev.start:
            booked[prev.key] = shop.place(job, op, prev.machine, prev.start)

    def order(job: Job, k: int) -> tuple[float, float]:
        prev = before.get((job.id, job.operations[k].seq))
        return (prev.start, 0.0) if prev is not None else (math.inf, job.due if job.due is not None else math.inf)

    placed = calendar.frozen_ops(problem)
    nxt = {job.id: 0 for job in problem.jobs}
    ready = {job.id: max(0, job.release) for job in problem.jobs}
    pending = {job.id: job for job in problem.jobs}
    # jobs by the order of their next operation (a heap: the key changes only for the job advanced)
    queue = [(order(job, 0), job.id) for job in problem.jobs]
    heapq.heapify(queue)
    while queue:
        _, job_id = heapq.heappop(queue)
        job = pending[job_id]
        op = job.operations[nxt[job.id]]
        _advance(job, nxt, pending)
        if job.id in pending:
            heapq.heappush(queue, (order(job, nxt[job.id]), job.id))
        if op.frozen is not None:
            ready[job.id] = max(ready[job.id], op.frozen.end)
            continue
        kept = booked.get((job.id, op.seq))
        if kept is not None and kept.start >= ready[job.id]:
            placed.append(kept)
            ready[job.id] = kept.end
            continue
        if kept is not None:
            shop.unplace(job, kept)
        choice = earliest_machine(shop, job, op, ready[job.id])
        if choice is None:
            raise NoSolutionError("INFEASIBLE", f"repair: {job.id}/{op.seq} fits on no machine")
        done = shop.place(job, op, choice[1], choice[0])
        placed.append(done)
        ready[job.id] = done.end
    return build_solution(
        problem, placed, solver="repair", status=SolveStatus.FEASIBLE, wall_s=time.perf_counter() - t0
    )


def earliest_machine(shop: Shop, job: Job, op: Operation, ready: int) -> tuple[int, str] | None:
    """(start, machine) completing earliest among the eligible machines."""
    best: tuple[int, int, str] | None = None
    for machine in sorted(op.durations):
        start = shop.earliest(job, op, machine, ready)
        if start is None:
            continue
        end = shop.end_of(job, op, machine, start)
        if best is None or (end, start) < best[:2]:
            best = (end, start, machine)
    return None if best is None else (best[1], best[2])


def _list_schedule(problem: Problem, key: Priority, name: str) -> Solution:
    t0 = time.perf_counter()
    shop = Shop(problem)
    placed: list[ScheduledOp] = calendar.frozen_ops(problem)
    nxt = {job.id: 0 for job in problem.jobs}
    ready = {job.id: max(0, job.release) for job in problem.jobs}
    pending = {job.id: job for job in problem.jobs}
    cache: dict[str, tuple[tuple[int, ...], tuple[int, int, str, Job]]] = {}
    machines_of = {(job.id, op.seq): sorted(op.durations) for job, op in problem.operations()}
    version = shop.version
    while pending:
        options: list[tuple[int, int, str, Job]] = []  # (completion, start, machine, job) best per job
        for job in list(pending.values()):
            op = job.operations[nxt[job.id]]
            if op.frozen is not None:  # already on the plan: advance past it
                ready[job.id] = max(ready[job.id], op.frozen.end)
                _advance(job, nxt, pending)
                break
            stamp = (nxt[job.id], *[version[m] for m in machines_of[(job.id, op.seq)]])
            cached = cache.get(job.id)
            if cached is not None and cached[0] == stamp:
                options.append(cached[1])
                continue
            choice = earliest_machine(shop, job, op, ready[job.id])
            if choice is None:
                raise NoSolutionError("INFEASIBLE", f"{name}: {job.id}/{op.seq} fits on no machine")
            best = (shop.end_of(job, op, choice[1], choice[0]), choice[0], choice[1], job)
            cache[job.id] = (stamp, best)
            options.append(best)
        else:
            c_star = min(o[0] for o in options)
            conflict = [o for o in options if o[1] < c_star] or [min(options, key=lambda o: (o[0], o[1], o[3].id))]
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
