"""Replanning scenarios built from a problem and its current plan (benchmark and tests).

`breakdown` moves the plan origin to the moment a machine breaks: what has started by then is frozen
where it is (work running on the broken machine is interrupted and replanned), the machine is unavailable
for the repair time, and the current plan becomes the previous plan of the new problem.
"""

from __future__ import annotations

from rescheduler.model.problem import Job, Operation, Placement, Problem, ScheduledOp, Unavailability
from rescheduler.model.solution import Solution


def shift_problem(problem: Problem, plan: Solution, now: int) -> tuple[Problem, set[tuple[str, int]]]:
    """Re-express `problem` from t=`now`, freezing what the plan started before `now`."""
    placed = plan.by_key()
    started: set[tuple[str, int]] = set()
    jobs = []
    for job in problem.jobs:
        ops = []
        for op in job.operations:
            at = placed[(job.id, op.seq)]
            frozen = op.frozen
            if at.start < now:
                frozen = Placement(machine=at.machine, start=at.start - now, end=at.end - now)
                started.add((job.id, op.seq))
            elif frozen is not None:
                frozen = Placement(machine=frozen.machine, start=frozen.start - now, end=frozen.end - now)
            ops.append(Operation(seq=op.seq, durations=op.durations, frozen=frozen))
        due = job.due - now if job.due is not None else None
        jobs.append(job.model_copy(update={"operations": tuple(ops), "release": job.release - now, "due": due}))
    unavailability = tuple(
        u.model_copy(update={"start": u.start - now, "end": u.end - now}) for u in problem.unavailability if u.end > now
    )
    previous = tuple(op.model_copy(update={"start": op.start - now, "end": op.end - now}) for op in plan.ops)
    day_origin = -((now - problem.day_origin) % problem.day_minutes)
    shifted = problem.model_copy(
        update={
            "jobs": tuple(jobs),
            "unavailability": unavailability,
            "previous": previous,
            "day_origin": day_origin,
            "horizon": None,
        }
    )
    return shifted, started


def breakdown(problem: Problem, plan: Solution, *, now: int, machine: str, minutes: int) -> Problem:
    """`machine` breaks at `now` for `minutes`; the returned problem's t=0 is `now`."""
    shifted, _ = shift_problem(problem, plan, now)
    jobs: list[Job] = []
    for job in shifted.jobs:
        ops = []
        for op in job.operations:
            interrupted = op.frozen is not None and op.frozen.machine == machine and op.frozen.end > 0
            ops.append(Operation(seq=op.seq, durations=op.durations) if interrupted else op)
        jobs.append(job.model_copy(update={"operations": tuple(ops)}))
    repair = Unavailability(machine=machine, start=0, end=minutes, reason="breakdown")
    return shifted.model_copy(update={"jobs": tuple(jobs), "unavailability": (*shifted.unavailability, repair)})


def replannable(problem: Problem) -> list[ScheduledOp]:
    """The previous plan's operations that are not frozen: the ones a replan may move."""
    frozen = {(job.id, op.seq) for job, op in problem.operations() if op.frozen is not None}
    return [p for p in problem.previous if p.key not in frozen]
