"""Capable-to-promise: the earliest completion of a proposed order in the current plan.

The current plan is kept as it is (frozen and planned work do not move); the new job is inserted into
the gaps. For one chain of operations against fixed busy intervals, placing each operation where it
*ends* earliest is exact: an operation's earliest end only grows with its ready time, so finishing
every step as early as possible finishes the last one as early as possible. No solver needed.

The rush reserve follows the CP-SAT model's rule (``rescheduler.model.build``): an operation of a job
that may not use the reserve, on a reserved workcenter, lies within one day (a long one: its working
minutes in every day it spans) and fits under the day's limit less what normal planned work, and the
promise's own earlier operations, already use that day.

The operation that waited longest after it could have started sets the date: that is the bottleneck
reported with the promise (without any wait, the longest operation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rescheduler.dispatch import Shop, earliest_machine
from rescheduler.model import Job, Problem, ScheduledOp, calendar


class CannotPromiseError(RuntimeError):
    """The job does not fit before the search limit (e.g. every eligible machine is down)."""


@dataclass(frozen=True, slots=True)
class Insertion:
    ops: tuple[ScheduledOp, ...]
    completion: int
    # The operation that set the date, and how long it waited for its machine (minutes).
    bottleneck: ScheduledOp
    waited: int


def insert_job(problem: Problem, plan: Sequence[ScheduledOp], job: Job, *, ready: int, limit: int) -> Insertion:
    """Place ``job`` earliest after ``ready`` (minutes) around ``plan``; starts no later than ``limit``.

    The placement follows the dispatch rules' shop (`rescheduler.dispatch.Shop`), so calendars, long
    operations and the reserve count exactly as in planning, and each operation the promise places is
    booked before the next is placed (its machine time and its share of a reserved day).
    """
    with_job = problem.model_copy(update={"jobs": (*[j for j in problem.jobs if j.id != job.id], job)})
    shop = Shop(with_job)
    frozen = {f.key for f in calendar.frozen_ops(problem)}
    for booked in plan:
        if booked.key not in frozen and booked.end > booked.start:
            shop.book(booked.job, booked.machine, booked.start, booked.end)
    placed: list[ScheduledOp] = []
    waits: list[int] = []
    at = max(ready, job.release)
    for op in job.operations:
        best = earliest_machine(shop, job, op, at)
        if best is None or best[0] > limit:
            raise CannotPromiseError(f"operation {op.seq} of {job.id} does not fit before minute {limit}")
        start, machine = best
        scheduled = shop.place(job, op, machine, start)
        placed.append(scheduled)
        waits.append(start - at)
        at = scheduled.end
    worst = max(range(len(placed)), key=lambda i: (waits[i], placed[i].end - placed[i].start))
    return Insertion(tuple(placed), placed[-1].end, placed[worst], waits[worst])


def machine_workcenters(workcenters: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Machine -> workcenter, from workcenter -> machines."""
    return {m: wc for wc, machines in workcenters.items() for m in machines}
