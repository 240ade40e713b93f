"""Independent check of a schedule against its problem: the solver and the dispatch rules are not trusted.

Rules checked (see `rescheduler.model.problem` for the conventions): every operation scheduled exactly
once; precedence within a job (not into a frozen operation, which is a fact); no overlap on a machine;
eligible machine; duration equal to the machine's; release and plan origin respected; no overlap with
unavailability; frozen operations exactly where they were; rush reserve per day by working minutes.
Operations that span non-working time (`rescheduler.model.spans`) are checked by their mode: started in
working time, running on only through off-shift time (unattended machines), or pausing over
unavailability and ending when their working minutes are done. Reserve-eligible jobs are those the
problem marks so, and only rush jobs may be marked so; only their work is outside the normal limit.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from rescheduler.model import calendar, spans
from rescheduler.model.problem import Operation, OpKey, Problem, ScheduledOp
from rescheduler.model.solution import Solution


class ViolationKind(StrEnum):
    MISSING = "missing"
    DUPLICATE = "duplicate"
    UNKNOWN = "unknown"
    PRECEDENCE = "precedence"
    OVERLAP = "overlap"
    INELIGIBLE = "ineligible"
    DURATION = "duration"
    RELEASE = "release"
    UNAVAILABLE = "unavailable"
    FROZEN = "frozen"
    RUSH_RESERVE = "rush_reserve"
    RESERVE_ELIGIBILITY = "reserve_eligibility"


class Violation(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: ViolationKind
    detail: str
    job: str | None = None
    seq: int | None = None


def check(problem: Problem, solution: Solution) -> list[Violation]:
    out: list[Violation] = []
    placed = _placements(problem, solution.ops, out)
    times = spans.machine_times(problem)
    for job in problem.jobs:
        previous: ScheduledOp | None = None
        for op in job.operations:
            got = placed.get((job.id, op.seq))
            if got is None:
                previous = None
                continue
            _check_operation(problem, job.release, op, got, times, out)
            if previous is not None and op.frozen is None and got.start < previous.end:
                out.append(_v(ViolationKind.PRECEDENCE, got, f"starts {got.start} before seq {previous.seq} ends"))
            previous = got
    for job in problem.jobs:
        if job.reserve_eligible and not job.rush:
            out.append(
                Violation(
                    kind=ViolationKind.RESERVE_ELIGIBILITY,
                    job=job.id,
                    detail=f"{job.id}: may use the rush reserve but is not a rush order",
                )
            )
    _check_machines(problem, list(placed.values()), out)
    _check_reserve(problem, list(placed.values()), out)
    return out


def _v(kind: ViolationKind, op: ScheduledOp, detail: str) -> Violation:
    return Violation(kind=kind, job=op.job, seq=op.seq, detail=f"{op.job}/{op.seq}: {detail}")


def _placements(problem: Problem, ops: tuple[ScheduledOp, ...], out: list[Violation]) -> dict[OpKey, ScheduledOp]:
    expected = {(job.id, op.seq) for job, op in problem.operations()}
    counts = Counter(op.key for op in ops)
    for key in sorted(expected - counts.keys()):
        out.append(Violation(kind=ViolationKind.MISSING, job=key[0], seq=key[1], detail=f"{key} not scheduled"))
    for key, n in sorted(counts.items()):
        if key not in expected:
            out.append(Violation(kind=ViolationKind.UNKNOWN, job=key[0], seq=key[1], detail=f"{key} not in problem"))
        elif n > 1:
            out.append(Violation(kind=ViolationKind.DUPLICATE, job=key[0], seq=key[1], detail=f"{key} scheduled {n}x"))
    return {op.key: op for op in ops if op.key in expected}


def _check_operation(
    problem: Problem,
    release: int,
    op: Operation,
    got: ScheduledOp,
    times: dict[str, spans.MachineTime],
    out: list[Violation],
) -> None:
    durations, frozen = op.durations, op.frozen
    if frozen is not None:
        if (got.machine, got.start, got.end) != (frozen.machine, frozen.start, frozen.end):
            out.append(_v(ViolationKind.FROZEN, got, f"frozen at {frozen}, scheduled {got.machine}@{got.start}"))
        return
    if got.start < max(0, release):
        out.append(_v(ViolationKind.RELEASE, got, f"starts {got.start} before release {max(0, release)}"))
    if got.machine not in durations:
        out.append(_v(ViolationKind.INELIGIBLE, got, f"machine {got.machine} not eligible"))
        return
    how = spans.mode(problem, op, got.machine)
    if how == "fixed":
        if got.end - got.start != durations[got.machine]:
            out.append(_v(ViolationKind.DURATION, got, f"lasts {got.end - got.start}, {durations[got.machine]} needed"))
        return
    end = times[got.machine].end(how, got.start, durations[got.machine])
    if end is None:
        out.append(_v(ViolationKind.UNAVAILABLE, got, f"may not run ({how}) from {got.start} on {got.machine}"))
    elif end != got.end:
        out.append(_v(ViolationKind.DURATION, got, f"ends {got.end}, its work ({how}) ends at {end}"))


def _check_machines(problem: Problem, ops: list[ScheduledOp], out: list[Violation]) -> None:
    frozen = {(job.id, op.seq) for job, op in problem.operations() if op.frozen is not None}
    spanning = {
        (job.id, op.seq): op
        for job, op in problem.operations()
        if op.frozen is None and (op.may_pause or set(op.durations) & set(problem.unattended))
    }
    down = calendar.unavailable(problem)
    per_machine: dict[str, list[ScheduledOp]] = defaultdict(list)
    for op in ops:
        per_machine[op.machine].append(op)
        spec = spanning.get(op.key)
        if spec is not None and op.machine in spec.durations and spans.mode(problem, spec, op.machine) != "fixed":
            continue  # checked by its mode in _check_operation
        if op.key not in frozen:
            for d in down.get(op.machine, []):
                if calendar.overlap((op.start, op.end), d) > 0:
                    out.append(_v(ViolationKind.UNAVAILABLE, op, f"overlaps unavailability {d} on {op.machine}"))
    for machine, mine in per_machine.items():
        busy = sorted((o for o in mine if o.end > o.start), key=lambda o: (o.start, o.end))
        latest: ScheduledOp | None = None
        for op in busy:
            if latest is not None and op.start < latest.end:
                out.append(_v(ViolationKind.OVERLAP, op, f"overlaps {latest.job}/{latest.seq} on {machine}"))
            if latest is None or op.end > latest.end:
                latest = op


def _check_reserve(problem: Problem, ops: list[ScheduledOp], out: list[Violation]) -> None:
    if not problem.reserves or not ops:
        return
    down = calendar.unavailable(problem)
    normal = calendar.normal_jobs(problem)
    frozen = calendar.frozen_ops(problem)
    for reserve in problem.reserves:
        usage = calendar.usage_by_day(problem, reserve, ops, normal, down)
        frozen_usage = calendar.usage_by_day(problem, reserve, frozen, normal, down)
        for day in calendar.days_until(problem, max(o.end for o in ops)):
            used = usage.get(day, 0)
            limit = max(calendar.reserve_limit(problem, reserve, day, down), frozen_usage.get(day, 0))
            if used > limit:
                out.append(
                    Violation(
                        kind=ViolationKind.RUSH_RESERVE,
                        detail=f"{reserve.workcenter} day {day}: normal jobs use {used} > {limit} machine-minutes",
                    )
                )
