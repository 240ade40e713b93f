"""The scheduling problem: a flexible job shop in integer minutes from the plan origin (t=0 = "now").

Callers (the rescheduler service, the benchmark parsers, the order-book generator) build a `Problem`;
the CP-SAT model, the dispatch rules and the checker all read the same object.

Conventions every consumer relies on:
- Times are integer minutes relative to the plan origin. Only frozen operations may start before 0.
- An operation occupies its machine for exactly `durations[machine]` minutes without interruption, and
  may not overlap any unavailability interval of that machine (it may not span one either), with two
  exceptions the plant declares (see `rescheduler.model.spans`): on a machine in `Problem.unattended` an
  operation started in working time runs on through `off_shift` unavailability; an operation with
  `may_pause` stops at non-working time and resumes after it (it then occupies the machine from its
  start to the minute its `durations[machine]` working minutes are done).
- A frozen operation (already started) stays exactly at `frozen` (machine, start, end); it is a fact,
  so it is exempt from the unavailability and precedence checks that concern planning decisions.
- Rush reserve: on a reserved workcenter, operations of jobs that are not `reserve_eligible` may use at
  most (1 - share) of each day's available machine-minutes, counted as their working minutes in each
  day (an operation spanning days counts in each); inside `reserve_fence` minutes from the origin the
  reserve is released to normal work (see `rescheduler.model.calendar`).
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field, model_validator

OpKey = tuple[str, int]
"""An operation's identity: (job id, seq)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Placement(_Frozen):
    """Where and when an operation runs: [start, end) on `machine`."""

    machine: str
    start: int
    end: int

    @model_validator(mode="after")
    def _end_after_start(self) -> Placement:
        if self.end < self.start:
            raise ValueError(f"end {self.end} before start {self.start}")
        return self


class ScheduledOp(Placement):
    """A placement of one operation, identified by job id and seq (used by plans and solutions)."""

    job: str
    seq: int

    @property
    def key(self) -> OpKey:
        return (self.job, self.seq)


class Operation(_Frozen):
    """One step of a job's routing. `durations`: eligible machine -> minutes on that machine."""

    seq: int
    durations: dict[str, int] = Field(min_length=1)
    frozen: Placement | None = None
    # The operation may stop at non-working time and resume after it (the plant's routing says so).
    may_pause: bool = False

    @model_validator(mode="after")
    def _valid(self) -> Operation:
        if any(d < 0 for d in self.durations.values()):
            raise ValueError("durations must be >= 0")
        if self.frozen is not None and self.frozen.machine not in self.durations:
            raise ValueError(f"frozen on {self.frozen.machine}, not an eligible machine")
        return self


class Job(_Frozen):
    """A work order: a chain of operations in `seq` order."""

    id: str
    operations: tuple[Operation, ...] = Field(min_length=1)
    release: int = 0
    due: int | None = None
    weight: int = Field(default=1, ge=0)
    rush: bool = False
    reserve_eligible: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Job:
        seqs = [op.seq for op in self.operations]
        if seqs != sorted(set(seqs)):
            raise ValueError(f"job {self.id}: operation seqs must be strictly increasing, got {seqs}")
        return self


class Unavailability(_Frozen):
    """A machine is unavailable over [start, end): off-shift, planned maintenance, breakdown."""

    machine: str
    start: int
    end: int
    reason: str = ""
    # Non-working time (off shift, holiday): an unattended machine keeps running a started operation.
    off_shift: bool = False


class RushReserve(_Frozen):
    """`share` of each day's available capacity of a (bottleneck) workcenter is held back for rush jobs."""

    workcenter: str
    machines: tuple[str, ...] = Field(min_length=1)
    share: float = Field(default=0.15, ge=0.0, le=1.0)


class Problem(_Frozen):
    """A full scheduling problem. `previous` is the plan being replaced (for stability and as a hint)."""

    name: str = ""
    machines: tuple[str, ...]
    jobs: tuple[Job, ...]
    unavailability: tuple[Unavailability, ...] = ()
    reserves: tuple[RushReserve, ...] = ()
    previous: tuple[ScheduledOp, ...] = ()
    day_minutes: int = Field(default=1440, gt=0)
    day_origin: int = Field(default=0, le=0, description="plan time of the start of the day containing t=0")
    horizon: int | None = Field(default=None, description="latest end of any operation; derived if None")
    unattended: tuple[str, ...] = Field(default=(), description="machines that run on through off-shift time")
    reserve_fence: int = Field(default=0, ge=0, description="minutes from t=0 inside which the reserve is released")
    calendar_end: int | None = Field(
        default=None, description="calendars are known until here: work must end by then (None: no limit)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Problem:
        known = set(self.machines)
        ids = [j.id for j in self.jobs]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate job ids")
        for job in self.jobs:
            for op in job.operations:
                unknown = set(op.durations) - known
                if unknown:
                    raise ValueError(f"job {job.id} op {op.seq}: unknown machines {sorted(unknown)}")
        for u in self.unavailability:
            if u.machine not in known:
                raise ValueError(f"unavailability on unknown machine {u.machine}")
        for r in self.reserves:
            if set(r.machines) - known:
                raise ValueError(f"reserve {r.workcenter}: unknown machines")
        return self

    def operations(self) -> Iterator[tuple[Job, Operation]]:
        for job in self.jobs:
            for op in job.operations:
                yield job, op

    def op_count(self) -> int:
        return sum(len(j.operations) for j in self.jobs)

    def job(self, job_id: str) -> Job:
        for job in self.jobs:
            if job.id == job_id:
                return job
        raise KeyError(job_id)

    def reserve_of(self, machine: str) -> RushReserve | None:
        for r in self.reserves:
            if machine in r.machines:
                return r
        return None
