"""Capable-to-promise: the earliest completion of a proposed order in the current plan.

The current plan is kept as it is (frozen and planned work do not move); the new job is inserted into
the gaps. For one chain of operations against fixed busy intervals, placing each operation where it
*ends* earliest is exact: an operation's earliest end only grows with its ready time, so finishing
every step as early as possible finishes the last one as early as possible. No solver needed.

The rush reserve follows the CP-SAT model's rule (``rescheduler.model.build``): an operation of a job
that may not use the reserve, on a reserved workcenter, lies within one day and fits under the day's
limit less what normal planned work already uses that day.

The operation that waited longest after it could have started sets the date: that is the bottleneck
reported with the promise (without any wait, the longest operation).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rescheduler.model import Job, Operation, Problem, RushReserve, ScheduledOp, calendar


class CannotPromiseError(RuntimeError):
    """The job does not fit before the search limit (e.g. every eligible machine is down)."""


@dataclass(frozen=True, slots=True)
class Insertion:
    ops: tuple[ScheduledOp, ...]
    completion: int
    # The operation that set the date, and how long it waited for its machine (minutes).
    bottleneck: ScheduledOp
    waited: int


class _Machines:
    """Busy intervals per machine (unavailability + the plan) and the reserve budget per day."""

    def __init__(self, problem: Problem, plan: Sequence[ScheduledOp], job: Job) -> None:
        self.problem = problem
        self.job = job
        busy: dict[str, list[calendar.Interval]] = {m: list(iv) for m, iv in calendar.unavailable(problem).items()}
        for op in plan:
            busy.setdefault(op.machine, []).append((op.start, op.end))
        self.busy = {m: calendar.merge(iv) for m, iv in busy.items()}
        self.starts = {m: [s for s, _ in iv] for m, iv in self.busy.items()}
        self.down = calendar.unavailable(problem)
        self.plan = list(plan)
        self.normal = calendar.normal_jobs(problem)
        self.used: dict[tuple[str, int], int] = {}

    def free(self, machine: str, start: int, end: int) -> bool:
        intervals = self.busy.get(machine, [])
        # The only busy intervals that can overlap [start, end) start before `end`; they are disjoint and
        # sorted, so checking the last one starting before `end` suffices.
        i = bisect.bisect_left(self.starts.get(machine, []), end) - 1
        return i < 0 or intervals[i][1] <= start

    def reserve_ok(self, reserve: RushReserve, start: int, end: int) -> bool:
        day = (start - self.problem.day_origin) // self.problem.day_minutes
        lo, hi = calendar.day_window(self.problem, day)
        if start < lo or end > hi:
            return False
        key = (reserve.workcenter, day)
        if key not in self.used:
            self.used[key] = calendar.reserve_usage(self.problem, reserve, day, self.plan, self.normal)
        limit = calendar.reserve_limit(self.problem, reserve, day, self.down)
        return self.used[key] + (end - start) <= limit

    def earliest_start(self, machine: str, duration: int, ready: int, limit: int) -> int | None:
        reserve = None if self.job.reserve_eligible else self.problem.reserve_of(machine)
        candidates = {ready} | {e for _, e in self.busy.get(machine, []) if e > ready}
        if reserve is not None:
            first_day = (ready - self.problem.day_origin) // self.problem.day_minutes
            last_day = (limit - self.problem.day_origin) // self.problem.day_minutes
            candidates |= {calendar.day_window(self.problem, d)[0] for d in range(first_day + 1, last_day + 1)}
        for start in sorted(c for c in candidates if c <= limit):
            end = start + duration
            if self.free(machine, start, end) and (reserve is None or self.reserve_ok(reserve, start, end)):
                return start
        return None


def insert_job(problem: Problem, plan: Sequence[ScheduledOp], job: Job, *, ready: int, limit: int) -> Insertion:
    """Place ``job`` earliest after ``ready`` (minutes) around ``plan``; starts no later than ``limit``."""
    machines = _Machines(problem, plan, job)
    placed: list[ScheduledOp] = []
    waits: list[int] = []
    at = max(ready, job.release)
    for op in job.operations:
        best = _best_machine(machines, op, at, limit)
        if best is None:
            raise CannotPromiseError(f"operation {op.seq} of {job.id} does not fit before minute {limit}")
        machine, start = best
        scheduled = ScheduledOp(job=job.id, seq=op.seq, machine=machine, start=start, end=start + op.durations[machine])
        placed.append(scheduled)
        waits.append(start - at)
        at = scheduled.end
    worst = max(range(len(placed)), key=lambda i: (waits[i], placed[i].end - placed[i].start))
    return Insertion(tuple(placed), placed[-1].end, placed[worst], waits[worst])


def _best_machine(machines: _Machines, op: Operation, ready: int, limit: int) -> tuple[str, int] | None:
    best: tuple[int, int, str] | None = None
    for machine, duration in sorted(op.durations.items()):
        start = machines.earliest_start(machine, duration, ready, limit)
        if start is not None and (best is None or (start + duration, start) < (best[0], best[1])):
            best = (start + duration, start, machine)
    return None if best is None else (best[2], best[1])


def machine_workcenters(workcenters: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Machine -> workcenter, from workcenter -> machines."""
    return {m: wc for wc, machines in workcenters.items() for m in machines}
