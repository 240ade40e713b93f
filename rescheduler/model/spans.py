"""Operations that span non-working time, and the discrete start candidates of long operations.

How an operation may meet its machine's unavailability (its *mode* on that machine):
- ``fixed``: never overlaps it (the default);
- ``through``: the machine is unattended (``Problem.unattended``): an operation started in working time
  runs on through off-shift time, but not through a breakdown or maintenance;
- ``pause``: the operation may stop (``Operation.may_pause``): started in working time, it pauses over
  any unavailability and resumes after it, occupying the machine until its working minutes are done.

Most operations fit a working window (and, on a reserved workcenter, one day): the CP-SAT model gives
them a continuous start domain. An operation that does not (longer than every window, or than a day on a
reserved workcenter) gets *candidates* instead: starts on a grid of `GRID_MIN` minutes plus the start of
each working window, each with its end and its working minutes per day, so that the model, the dispatch
rules and the checker agree on the same placements and the reserve counts such work in every day it
spans.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from rescheduler.model import calendar
from rescheduler.model.calendar import Interval
from rescheduler.model.problem import Operation, Problem

Mode = Literal["fixed", "through", "pause"]
GRID_MIN = 60
MAX_CANDIDATES = 1500  # per operation and machine in the model (about two months of starts)


def mode(problem: Problem, op: Operation, machine: str) -> Mode:
    if op.may_pause:
        return "pause"
    if machine in problem.unattended:
        return "through"
    return "fixed"


def _inside(intervals: list[Interval], starts: list[int], t: int) -> Interval | None:
    """The interval containing minute t, if any (intervals sorted, disjoint)."""
    i = bisect.bisect_right(starts, t) - 1
    if i >= 0 and intervals[i][1] > t:
        return intervals[i]
    return None


def _clashes(intervals: list[Interval], starts: list[int], lo: int, hi: int) -> bool:
    i = bisect.bisect_left(starts, hi) - 1
    return i >= 0 and intervals[i][1] > lo


@dataclass
class MachineTime:
    """One machine's unavailability, for computing where operations end."""

    down: list[Interval]
    hard: list[Interval]

    def __post_init__(self) -> None:
        self._down_starts = [s for s, _ in self.down]
        self._down_ends = [e for _, e in self.down]
        self._hard_starts = [s for s, _ in self.hard]
        self._day_stretch: int | None = None
        self._window: int | None = None

    def end(self, how: Mode, start: int, dur: int) -> int | None:
        """Where an operation of `dur` working minutes started at `start` ends; None: it may not start there."""
        if dur == 0:
            return start
        if how == "fixed":
            return None if _clashes(self.down, self._down_starts, start, start + dur) else start + dur
        if _inside(self.down, self._down_starts, start) is not None:
            return None  # nobody starts an operation in non-working time
        if how == "through":
            return None if _clashes(self.hard, self._hard_starts, start, start + dur) else start + dur
        t, left = start, dur
        i = bisect.bisect_right(self._down_starts, t)
        while i < len(self.down) and self.down[i][0] < t + left:
            left -= self.down[i][0] - t
            t = self.down[i][1]
            i += 1
        return t + left

    def day_stretch(self, problem: Problem) -> int:
        """The longest working stretch within one day (over the days until a day free of unavailability)."""
        if self._day_stretch is None:
            last_down = self.down[-1][1] if self.down else 0
            last = (max(last_down, 0) - problem.day_origin) // problem.day_minutes + 1
            self._day_stretch = max(
                _longest_stretch(self, *calendar.day_window(problem, d)) for d in range(0, last + 1)
            )
        return self._day_stretch

    def window(self) -> int:
        """The longest working window between (or before) the machine's unavailability."""
        if self._window is None:
            gaps = [b[0] - a[1] for a, b in zip(self.down, self.down[1:], strict=False)]
            if self.down and self.down[0][0] > 0:
                gaps.append(self.down[0][0])
            self._window = max(gaps, default=0)
        return self._window

    def working_starts(self, lo: int, hi: int) -> list[int]:
        """The ends of unavailability in [lo, hi]: where working windows begin."""
        i = bisect.bisect_left(self._down_ends, lo)
        return [e for _, e in self.down[i:] if e <= hi]


_CACHE: list[tuple[Problem, dict[str, MachineTime]]] = []


def machine_times(problem: Problem) -> dict[str, MachineTime]:
    """Per machine (kept for the last few problems: a large-neighbourhood search builds many models of one)."""
    for known, times in _CACHE:
        if known is problem:
            return times
    down, hard = calendar.unavailable(problem), calendar.hard_unavailable(problem)
    times = {m: MachineTime(down.get(m, []), hard.get(m, [])) for m in problem.machines}
    _CACHE.insert(0, (problem, times))
    del _CACHE[4:]
    return times


def _longest_stretch(times: MachineTime, lo: int, hi: int) -> int:
    """Longest time in [lo, hi) free of the machine's unavailability."""
    best, t = 0, lo
    for d_start, d_end in times.down:
        if d_end <= t:
            continue
        if d_start >= hi:
            break
        best = max(best, d_start - t)
        t = d_end
    return max(best, hi - t)


def is_long(problem: Problem, op: Operation, machine: str, times: MachineTime, reserved_normal: bool) -> bool:
    """Whether the operation needs discrete candidates on `machine` (see the module docstring): on a
    reserved workcenter for a normal job, it fits in no day's longest working stretch; otherwise it may
    span non-working time and is longer than every working window between the machine's unavailability."""
    dur = op.durations[machine]
    if dur == 0:
        return False
    if reserved_normal and times.day_stretch(problem) < dur:
        return True
    if mode(problem, op, machine) == "fixed" or not times.down:
        return False
    return times.window() < dur


def iter_grid(times: MachineTime, release: int, ready: int, end: int) -> Iterator[int]:
    """The starts of `grid_starts(times, release, end, cap=None)` at or after `ready`, lazily and in order."""
    if release >= ready:
        yield release
    t = max(release, ready)
    while t <= end:
        hi = min(end, t + GRID_MIN * 1000)
        first = -(-t // GRID_MIN) * GRID_MIN
        chunk = set(range(first, hi + 1, GRID_MIN)) | set(times.working_starts(t, hi))
        yield from sorted(c for c in chunk if c > release or (c == release and release < ready))
        t = hi + 1


@dataclass(frozen=True, slots=True)
class Candidate:
    start: int
    end: int
    # (day, working minutes) for the days the operation uses
    usage: tuple[tuple[int, int], ...]


def day_usage(problem: Problem, start: int, end: int, down: list[Interval]) -> tuple[tuple[int, int], ...]:
    if end <= start:
        return ()
    first = max(0, (start - problem.day_origin) // problem.day_minutes)
    last = (end - 1 - problem.day_origin) // problem.day_minutes
    out = []
    for day in range(first, last + 1):
        used = calendar.working_overlap(calendar.day_window(problem, day), (start, end), down)
        if used:
            out.append((day, used))
    return tuple(out)


def grid_starts(times: MachineTime, lo: int, hi: int, cap: int | None = MAX_CANDIDATES) -> list[int]:
    """Candidate starts in [lo, hi]: lo, every GRID_MIN minutes, and each working window's start (the
    first `cap`; the dispatch rules search on without a cap, so they always find a place)."""
    first = -(-lo // GRID_MIN) * GRID_MIN
    grid = set(range(first, hi + 1, GRID_MIN)) | set(times.working_starts(lo, hi)) | {lo}
    ordered = sorted(t for t in grid if lo <= t <= hi)
    return ordered if cap is None else ordered[:cap]


def candidates(
    problem: Problem,
    op: Operation,
    machine: str,
    times: MachineTime,
    busy: list[Interval],
    *,
    earliest: int,
    latest_end: int,
    day_limit: dict[int, int] | None,
) -> list[Candidate]:
    """The placements of a long operation on `machine` in [earliest, latest_end) clear of `busy` (merged),
    whose per-day working minutes stay within `day_limit` (None: no reserve applies)."""
    dur = op.durations[machine]
    how = mode(problem, op, machine)
    busy_starts = [s for s, _ in busy]
    out = []
    for start in grid_starts(times, earliest, latest_end - dur):
        end = times.end(how, start, dur)
        if end is None or end > latest_end or _clashes(busy, busy_starts, start, end):
            continue
        usage = day_usage(problem, start, end, times.down)
        if day_limit is not None and any(used > day_limit.get(day, 0) for day, used in usage):
            continue
        out.append(Candidate(start, end, usage))
    return out


def unplannable(problem: Problem, latest_end: int) -> dict[str, str]:
    """Jobs with an operation that fits on none of its machines by `latest_end`, even on an empty shop
    (only unavailability, frozen work and the reserve count): job id -> the reason, for the planner.
    The rest can be planned without them."""
    from rescheduler.model.build import start_windows, within_days  # the model's own start rule

    times = machine_times(problem)
    blocked = calendar.blocked(problem)
    busy: dict[str, list[Interval]] = {}
    for f in calendar.frozen_ops(problem):
        busy.setdefault(f.machine, []).append((f.start, f.end))
    busy = {m: calendar.merge(iv) for m, iv in busy.items()}
    down = calendar.unavailable(problem)
    normal = calendar.normal_jobs(problem)
    out: dict[str, str] = {}
    for job, op in problem.operations():
        if op.frozen is not None or job.id in out:
            continue
        earliest = max(0, job.release)
        fits = False
        for m, dur in op.durations.items():
            reserve = problem.reserve_of(m) if job.id in normal and dur > 0 else None
            if not is_long(problem, op, m, times[m], reserve is not None):
                ws = start_windows(earliest, max(earliest, latest_end - dur), dur, blocked.get(m, []))
                fits = bool(within_days(problem, ws, dur) if reserve is not None else ws)
            else:
                limit = None
                if reserve is not None:
                    days = calendar.days_until(problem, latest_end)
                    limit = {d: calendar.reserve_limit(problem, reserve, d, down) for d in days}
                found = candidates(
                    problem, op, m, times[m], busy.get(m, []), earliest=earliest, latest_end=latest_end, day_limit=limit
                )
                fits = bool(found)
            if fits:
                break
        if not fits:
            pause = "may pause" if op.may_pause else "may not pause"
            machines = ", ".join(sorted(op.durations))
            longest = max(op.durations.values())
            out[job.id] = (
                f"operation {op.seq} ({longest} min, {pause}) fits in no working time of {machines} "
                f"within the planning horizon"
            )
    return out
