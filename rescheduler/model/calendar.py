"""Calendar arithmetic shared by the CP-SAT model, the dispatch rules and the checker.

Days: day k covers [day_origin + k * day_minutes, day_origin + (k + 1) * day_minutes), clipped to t >= 0
(the past is not plannable capacity). A day's available minutes on a machine are its minutes minus the
machine's unavailability. The rush reserve's limit for a workcenter and a day is
floor((1 - share) * available machine-minutes of the workcenter that day), except that the available
minutes inside the reserve fence ([0, reserve_fence)) count whole: there the unused reserve is released to
normal work. Usage is the working minutes (overlap with the day less the machine's unavailability, which an
unattended or pausing operation may span) of non-reserve-eligible operations in the day. Frozen
operations count as usage too; if frozen work alone already exceeds the limit, the limit becomes that
frozen usage (past facts must not make a plan infeasible).
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Callable, Iterable

from rescheduler.model.problem import Problem, RushReserve, ScheduledOp

Interval = tuple[int, int]


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint, non-empty union of half-open intervals."""
    out: list[list[int]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(s, e) for s, e in out]


def subtract(span: Interval, down: list[Interval]) -> list[Interval]:
    """The parts of `span` outside the (sorted, disjoint) intervals `down`."""
    out, t = [], span[0]
    for d_start, d_end in down:
        if d_end <= t:
            continue
        if d_start >= span[1]:
            break
        if d_start > t:
            out.append((t, d_start))
        t = max(t, d_end)
    if t < span[1]:
        out.append((t, span[1]))
    return out


def overlap(a: Interval, b: Interval) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


_CACHE: dict[str, list[tuple[Problem, dict[str, list[tuple[int, int]]]]]] = defaultdict(list)


def _cached(
    name: str, problem: Problem, compute: Callable[[Problem], dict[str, list[Interval]]]
) -> dict[str, list[Interval]]:
    """Per-machine intervals of the last few problems (a neighbourhood search builds many models of one;
    problems are immutable). Callers must not modify the result."""
    entries = _CACHE[name]
    for known, value in entries:
        if known is problem:
            return value
    value = compute(problem)
    entries.insert(0, (problem, value))
    del entries[4:]
    return value


def unavailable(problem: Problem) -> dict[str, list[Interval]]:
    """Machine -> merged unavailability intervals."""
    return _cached("unavailable", problem, _unavailable)


def _unavailable(problem: Problem) -> dict[str, list[Interval]]:
    raw: dict[str, list[Interval]] = defaultdict(list)
    for u in problem.unavailability:
        raw[u.machine].append((u.start, u.end))
    return {m: merge(iv) for m, iv in raw.items()}


def hard_unavailable(problem: Problem) -> dict[str, list[Interval]]:
    """Machine -> merged unavailability that is not off-shift time (breakdowns, maintenance)."""
    raw: dict[str, list[Interval]] = defaultdict(list)
    for u in problem.unavailability:
        if not u.off_shift:
            raw[u.machine].append((u.start, u.end))
    return {m: merge(iv) for m, iv in raw.items()}


def frozen_ops(problem: Problem) -> list[ScheduledOp]:
    return [
        ScheduledOp(job=job.id, seq=op.seq, machine=op.frozen.machine, start=op.frozen.start, end=op.frozen.end)
        for job, op in problem.operations()
        if op.frozen is not None
    ]


def blocked(problem: Problem) -> dict[str, list[Interval]]:
    """Machine -> merged intervals a new (non-frozen) operation may not overlap: unavailability and frozen work."""
    return _cached("blocked", problem, _blocked)


def _blocked(problem: Problem) -> dict[str, list[Interval]]:
    raw: dict[str, list[Interval]] = defaultdict(list)
    for m, ivs in unavailable(problem).items():
        raw[m].extend(ivs)
    for f in frozen_ops(problem):
        raw[f.machine].append((f.start, f.end))
    return {m: merge(iv) for m, iv in raw.items()}


def day_window(problem: Problem, day: int) -> Interval:
    start = problem.day_origin + day * problem.day_minutes
    return (max(0, start), start + problem.day_minutes)


def days_until(problem: Problem, end: int) -> list[int]:
    """Indices of the days that intersect [0, end)."""
    if end <= 0:
        return []
    return list(range(0, (end - problem.day_origin - 1) // problem.day_minutes + 1))


def available_minutes(window: Interval, down: list[Interval]) -> int:
    return (window[1] - window[0]) - sum(overlap(window, d) for d in down)


def reserve_limit(problem: Problem, reserve: RushReserve, day: int, down: dict[str, list[Interval]]) -> int:
    """Machine-minutes normal operations may use on the workcenter that day (before the frozen-work floor)."""
    window = day_window(problem, day)
    avail = sum(available_minutes(window, down.get(m, [])) for m in reserve.machines)
    fenced = 0
    if problem.reserve_fence > window[0]:
        inside = (window[0], min(window[1], problem.reserve_fence))
        fenced = sum(available_minutes(inside, down.get(m, [])) for m in reserve.machines)
    # a tiny epsilon so that e.g. 0.85 * 1000 = 850 is not floored to 849 by float error
    return fenced + math.floor((1.0 - reserve.share) * (avail - fenced) + 1e-9)


_LIMITS: list[tuple[Problem, str, dict[int, int]]] = []


def reserve_limits(problem: Problem, reserve: RushReserve, end: int) -> dict[int, int]:
    """Day -> reserve_limit for the days until `end` (kept for the last few problems)."""
    for known, workcenter, limits in _LIMITS:
        if known is problem and workcenter == reserve.workcenter and len(limits) >= len(days_until(problem, end)):
            return limits
    down = unavailable(problem)
    limits = {d: reserve_limit(problem, reserve, d, down) for d in days_until(problem, end)}
    _LIMITS.insert(0, (problem, reserve.workcenter, limits))
    del _LIMITS[8:]
    return limits


def working_overlap(window: Interval, op: Interval, down: list[Interval]) -> int:
    """Minutes of `op` inside `window` that are not unavailability (what an operation uses of a day)."""
    part = (max(window[0], op[0]), min(window[1], op[1]))
    if part[1] <= part[0]:
        return 0
    return available_minutes(part, down)


def normal_jobs(problem: Problem) -> set[str]:
    return {j.id for j in problem.jobs if not j.reserve_eligible}


def usage_by_day(
    problem: Problem,
    reserve: RushReserve,
    ops: Iterable[ScheduledOp],
    jobs: set[str],
    down: dict[str, list[Interval]] | None = None,
) -> dict[int, int]:
    """Day -> working minutes of the operations of `jobs` on the workcenter (one pass over the operations)."""
    down = unavailable(problem) if down is None else down
    machines = set(reserve.machines)
    starts = {m: [s for s, _ in down.get(m, [])] for m in machines}
    out: dict[int, int] = defaultdict(int)
    for o in ops:
        if o.machine not in machines or o.job not in jobs or o.end <= o.start:
            continue
        first = max(0, (o.start - problem.day_origin) // problem.day_minutes)
        last = (o.end - 1 - problem.day_origin) // problem.day_minutes
        gaps = down.get(o.machine, [])
        i = max(0, bisect.bisect_right(starts[o.machine], o.start) - 1)
        for day in range(first, last + 1):
            lo, hi = day_window(problem, day)
            part = (max(lo, o.start), min(hi, o.end))
            if part[1] <= part[0]:
                continue
            used = part[1] - part[0]
            j = i
            while j < len(gaps) and gaps[j][0] < part[1]:
                used -= overlap(part, gaps[j])
                j += 1
            if used:
                out[day] += used
    return dict(out)


def reserve_usage(
    problem: Problem,
    reserve: RushReserve,
    day: int,
    ops: Iterable[ScheduledOp],
    normal: set[str],
    down: dict[str, list[Interval]] | None = None,
) -> int:
    """Working minutes of normal (non-reserve-eligible) operations on the workcenter in the day."""
    window = day_window(problem, day)
    relevant = [o for o in ops if o.start < window[1] and o.end > window[0]]
    return usage_by_day(problem, reserve, relevant, normal, down).get(day, 0)


def reserve_left(problem: Problem, ops: Iterable[ScheduledOp]) -> list[tuple[str, int, int, int]]:
    """(workcenter, day, reserve minutes, reserve minutes left) per reserved workcenter and day: the
    planned days and at least two days past the reserve fence.

    The reserve of a day is what normal work may not use (nothing inside the fence); it is left as far as
    the day's capacity is not taken by planned work: min(reserve, available - all planned working minutes).
    """
    ops = list(ops)
    if not problem.reserves or not ops:
        return []
    down = unavailable(problem)
    every = {o.job for o in ops}
    # the planned days, and at least two past the fence (what the reserve still holds for rush orders)
    until = max(max(o.end for o in ops), problem.reserve_fence + 2 * problem.day_minutes)
    out = []
    for reserve in problem.reserves:
        everything = usage_by_day(problem, reserve, ops, every, down)
        for day in days_until(problem, until):
            window = day_window(problem, day)
            avail = sum(available_minutes(window, down.get(m, [])) for m in reserve.machines)
            held = avail - reserve_limit(problem, reserve, day, down)
            used = everything.get(day, 0)
            out.append((reserve.workcenter, day, held, max(0, min(held, avail - used))))
    return out
