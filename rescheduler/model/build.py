"""Build the CP-SAT model of a `Problem` (the staged search lives in `rescheduler.model.cpsat`).

Encoding, chosen to stay fast at 400 operations:
- one start/end pair per operation; per eligible machine an optional interval sharing that start/end with
  a presence literal, exactly one presence per operation (a single eligible machine: a plain interval);
- unavailability and frozen work (merged per machine) are cut out of the start domains: per eligible
  machine, the starts whose [start, start + duration) would overlap or span blocked time are excluded
  (an enforced domain when the machines differ), so new work never touches them and the search never
  tries; frozen operations are constants, not variables (in one comparison on the 400-operation book,
  fixed intervals in the NoOverlap instead found no improvement in 10 s);
- rush reserve: a non-reserve-eligible operation placed on a reserved workcenter must lie within one day
  (a boolean per candidate day), and per day the sum of those durations stays under the day's limit
  (see `rescheduler.model.calendar`). That is a sound restriction of the exact per-day overlap rule the
  checker enforces: an operation wholly inside a day overlaps exactly that day by its duration;
- long operations (longer than any day's working stretch on a reserved workcenter, or longer than every
  working window where they may run on or pause, `rescheduler.model.spans`) get discrete start candidates
  on that machine instead, a literal each with its end and its working minutes per day, which count in
  the reserve of every day they span. So a long operation never leaves a machine without an allowed start.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from rescheduler.model import calendar, spans
from rescheduler.model.problem import Job, Operation, OpKey, Problem, ScheduledOp

LinearExpr = cp_model.LinearExprT


@dataclass
class BuiltModel:
    model: cp_model.CpModel
    horizon: int
    starts: dict[OpKey, cp_model.IntVar] = field(default_factory=dict)
    presence: dict[OpKey, dict[str, cp_model.IntVar]] = field(default_factory=dict)
    durations: dict[OpKey, dict[str, int]] = field(default_factory=dict)
    frozen: list[ScheduledOp] = field(default_factory=list)
    fixed: dict[OpKey, ScheduledOp] = field(default_factory=dict)
    job_ends: dict[str, LinearExpr] = field(default_factory=dict)
    objectives: dict[str, LinearExpr] = field(default_factory=dict)
    problem: Problem = field(default_factory=lambda: Problem(machines=(), jobs=()))
    normal: set[str] = field(default_factory=set)
    caps: dict[tuple[str, int], int] = field(default_factory=dict)
    times: dict[str, spans.MachineTime] = field(default_factory=dict)
    busy: dict[str, list[calendar.Interval]] = field(default_factory=dict)
    ends: dict[OpKey, LinearExpr] = field(default_factory=dict)
    # long operations: (op, machine) -> candidates with their literals; size variable per machine
    candidates: dict[tuple[OpKey, str], list[tuple[spans.Candidate, cp_model.IntVar]]] = field(default_factory=dict)
    cand_lits: dict[tuple[OpKey, str, int], cp_model.IntVar] = field(default_factory=dict)
    sizes: dict[tuple[OpKey, str], cp_model.IntVar] = field(default_factory=dict)
    bounds: dict[OpKey, tuple[int, int]] = field(default_factory=dict)
    jobs: list[Job] = field(default_factory=list)
    # auxiliary variables, kept so a plan can be turned into a complete hint
    day_lits: dict[tuple[OpKey, str, int], cp_model.IntVar] = field(default_factory=dict)
    late: dict[str, cp_model.IntVar] = field(default_factory=dict)
    makespan: cp_model.IntVar | None = None
    moved: dict[OpKey, tuple[cp_model.IntVar, cp_model.IntVar]] = field(default_factory=dict)


def safe_horizon(problem: Problem) -> int:
    """An end time by which every operation fits even one after another after all fixed events."""
    fixed = [0, *(j.release for j in problem.jobs), *(u.end for u in problem.unavailability)]
    fixed += [f.end for f in calendar.frozen_ops(problem)]
    work = sum(max(op.durations.values()) for _, op in problem.operations() if op.frozen is None)
    # a normal job's op on a reserved workcenter must fit within one day's share: at worst a day each
    reserved = {m for r in problem.reserves for m in r.machines}
    normal = calendar.normal_jobs(problem)
    waits = sum(
        1 for job, op in problem.operations() if op.frozen is None and job.id in normal and set(op.durations) & reserved
    )
    return max(fixed) + work + problem.day_minutes * (waits + 1 if waits else 0)


def build(
    problem: Problem,
    horizon: int,
    *,
    with_stability: bool,
    move_cost: int,
    fixed: dict[OpKey, ScheduledOp] | None = None,
    bounds: dict[OpKey, tuple[int, int]] | None = None,
) -> BuiltModel:
    """The model of `problem`. `fixed` (large-neighbourhood search): operations held where they are as
    constants, like frozen ones, but with precedence to and from them still enforced. `bounds`: the
    range of starts an operation may take (a neighbourhood moves work locally: small domains load fast)."""
    model = cp_model.CpModel()
    frozen = calendar.frozen_ops(problem)
    held = {k: op for k, op in (fixed or {}).items() if k not in {f.key for f in frozen}}
    built = BuiltModel(model=model, horizon=horizon, frozen=frozen, fixed=held, problem=problem)
    built.bounds = bounds or {}
    built.normal = calendar.normal_jobs(problem)
    built.times = spans.machine_times(problem)
    busy: dict[str, list[calendar.Interval]] = {}
    for op in [*frozen, *held.values()]:
        busy.setdefault(op.machine, []).append((op.start, op.end))
    built.busy = {m: calendar.merge(iv) for m, iv in busy.items()}
    built.caps = _reserve_caps(built, problem)
    intervals: dict[str, list[cp_model.IntervalVar]] = {m: [] for m in problem.machines}
    blocked = calendar.blocked(problem)
    built.jobs = list(problem.jobs)
    if fixed is not None:
        # a neighbourhood: only jobs with a free operation are modelled (the others are constants)
        frozen_keys = {f.key for f in frozen}
        free = [
            (j, op)
            for j, op in problem.operations()
            if (j.id, op.seq) not in held and (j.id, op.seq) not in frozen_keys
        ]
        with_free = {j.id for j, _ in free}
        built.jobs = [j for j in problem.jobs if j.id in with_free]
        machines = {m for _, op in free for m in op.durations}
        extra: dict[str, list[calendar.Interval]] = {}
        for op in built.fixed.values():
            if op.machine in machines:
                extra.setdefault(op.machine, []).append((op.start, op.end))
        blocked = {m: calendar.merge([*blocked.get(m, []), *extra.get(m, [])]) for m in machines}
    for job in built.jobs:
        _add_job(built, job, intervals, blocked)
    for machine_intervals in intervals.values():
        if len(machine_intervals) > 1:
            model.add_no_overlap(machine_intervals)
    _add_rush_reserve(built, problem)
    _add_objectives(built, problem, with_stability=with_stability, move_cost=move_cost)
    return built


def _add_job(
    built: BuiltModel,
    job: Job,
    intervals: dict[str, list[cp_model.IntervalVar]],
    blocked: dict[str, list[calendar.Interval]],
) -> None:
    model = built.model
    previous_end: LinearExpr = 0
    for op in job.operations:
        key = (job.id, op.seq)
        built.durations[key] = dict(op.durations)
        if op.frozen is not None:
            # a fact: constant placement; precedence into a frozen op is not a decision, so not constrained
            previous_end = op.frozen.end
            continue
        held = built.fixed.get(key)
        if held is not None:
            if not isinstance(previous_end, int):
                model.add(previous_end <= held.start)
            previous_end = held.end
            continue
        start = _add_operation(built, job, op, max(0, job.release), intervals, blocked)
        model.add(start >= previous_end)
        previous_end = built.ends[key]
    built.job_ends[job.id] = previous_end


def start_windows(earliest: int, latest: int, dur: int, blocked: list[calendar.Interval]) -> list[list[int]]:
    """Closed ranges of starts in [earliest, latest] whose [start, start + dur) misses every blocked interval."""
    windows, lo = [], earliest
    for b_start, b_end in blocked:
        if dur == 0 or b_end <= lo:
            continue
        hi = min(latest, b_start - dur)
        if hi >= lo:
            windows.append([lo, hi])
        lo = max(lo, b_end)
        if lo > latest:
            break
    if lo <= latest:
        windows.append([lo, latest])
    return windows


def within_days(problem: Problem, windows: list[list[int]], dur: int) -> list[list[int]]:
    """The starts of `windows` at which an operation of `dur` lies within one day."""
    out = []
    for lo, hi in windows:
        day = max(0, (lo - problem.day_origin) // problem.day_minutes)
        while True:
            d_lo, d_hi = calendar.day_window(problem, day)
            if d_lo > hi:
                break
            a, b = max(lo, d_lo), min(hi, d_hi - dur)
            if a <= b:
                out.append([a, b])
            day += 1
    return out


def _add_operation(
    built: BuiltModel,
    job: Job,
    op: Operation,
    earliest: int,
    intervals: dict[str, list[cp_model.IntervalVar]],
    blocked: dict[str, list[calendar.Interval]],
) -> cp_model.IntVar:
    """Start domains exclude every start that would overlap (or span) the machine's blocked time, so the
    solver never explores them (much better for LNS than relying on NoOverlap with fixed intervals).
    An operation that fits no such window on a machine (or no single day of a reserved workcenter) gets
    that machine's discrete candidates (`rescheduler.model.spans`) instead."""
    model, key = built.model, (job.id, op.seq)
    name = f"{key[0]}_{key[1]}"
    lo_bound, hi_bound = built.bounds.get(key, (earliest, built.horizon))
    earliest = max(earliest, lo_bound)
    windows: dict[str, list[list[int]]] = {}
    options: dict[str, list[spans.Candidate]] = {}
    for m, d in op.durations.items():
        reserve = built.problem.reserve_of(m) if job.id in built.normal and d > 0 else None
        if not spans.is_long(built.problem, op, m, built.times[m], reserve is not None):
            ws = start_windows(earliest, max(earliest, min(hi_bound, built.horizon - d)), d, blocked.get(m, []))
            windows[m] = within_days(built.problem, ws, d) if reserve is not None else ws
            continue
        limit = None
        if reserve is not None:
            limit = {day: cap for (wc, day), cap in built.caps.items() if wc == reserve.workcenter}
        options[m] = spans.candidates(
            built.problem,
            op,
            m,
            built.times[m],
            built.busy.get(m, []),
            earliest=earliest,
            latest_end=built.horizon,
            day_limit=limit,
        )
    union = [w for ws in windows.values() for w in ws] + [[c.start, c.start] for cs in options.values() for c in cs]
    if not union:  # fits nowhere within the horizon: an empty domain makes the model infeasible
        union = [[earliest, earliest]]
        model.add_bool_or([])
    start = model.new_int_var_from_domain(cp_model.Domain.from_intervals(union), f"s_{name}")
    built.starts[key] = start
    lits: dict[str, cp_model.IntVar] = {}
    ends: list[LinearExpr] = []
    single = len(op.durations) == 1
    for machine, dur in op.durations.items():
        lit = model.new_constant(1) if single else model.new_bool_var(f"p_{name}_{machine}")
        lits[machine] = lit
        if machine in windows:
            if not windows[machine]:
                model.add(lit == 0)
                continue
            if single:
                intervals[machine].append(model.new_fixed_size_interval_var(start, dur, f"i_{name}_{machine}"))
            else:
                intervals[machine].append(
                    model.new_optional_fixed_size_interval_var(start, dur, lit, f"i_{name}_{machine}")
                )
            if windows[machine] != union:
                domain = cp_model.Domain.from_intervals(windows[machine])
                model.add_linear_expression_in_domain(start, domain).only_enforce_if(lit)
            ends.append(dur if single else dur * lit)
            continue
        cands = options[machine]
        if not cands:
            model.add(lit == 0)
            continue
        lengths = sorted({c.end - c.start for c in cands} | {0})
        size = model.new_int_var_from_domain(cp_model.Domain.from_values(lengths), f"sz_{name}_{machine}")
        end = model.new_int_var(0, built.horizon, f"e_{name}_{machine}")
        if single:
            intervals[machine].append(model.new_interval_var(start, size, end, f"i_{name}_{machine}"))
        else:
            intervals[machine].append(model.new_optional_interval_var(start, size, end, lit, f"i_{name}_{machine}"))
        zs = []
        for c in cands:
            z = model.new_bool_var(f"c_{name}_{machine}_{c.start}")
            model.add(start == c.start).only_enforce_if(z)
            zs.append(z)
            built.cand_lits[(key, machine, c.start)] = z
        model.add(sum(zs) == lit)
        model.add(size == sum((c.end - c.start) * z for c, z in zip(cands, zs, strict=True)))
        built.sizes[(key, machine)] = size
        built.candidates[(key, machine)] = list(zip(cands, zs, strict=True))
        ends.append(size)
    if not single:
        model.add_exactly_one(lits.values())
    built.presence[key] = lits
    built.ends[key] = start + cp_model.LinearExpr.sum(ends) if ends else start + 0
    return start


def _add_rush_reserve(built: BuiltModel, problem: Problem) -> None:
    if not problem.reserves:
        return
    model = built.model
    normal = built.normal
    days = calendar.days_until(problem, built.horizon)
    for reserve in problem.reserves:
        usage: dict[int, list[LinearExpr]] = {d: [] for d in days}
        for key, lits in built.presence.items():
            if key[0] not in normal:
                continue
            for machine in set(lits) & set(reserve.machines):
                dur = built.durations[key][machine]
                if dur == 0:
                    continue
                if (key, machine) in built.candidates:
                    # a long operation counts its working minutes in every day it spans
                    for cand, z in built.candidates[(key, machine)]:
                        for day, used in cand.usage:
                            usage.setdefault(day, []).append(used * z)
                    continue
                day_lits = []
                s_lo, s_hi = _start_range(built.starts[key])
                for d in days:
                    lo, hi = calendar.day_window(problem, d)
                    if hi - lo < dur or hi - dur < s_lo or lo > s_hi:
                        continue
                    z = model.new_bool_var(f"day_{key[0]}_{key[1]}_{machine}_{d}")
                    model.add(built.starts[key] >= lo).only_enforce_if(z)
                    model.add(built.starts[key] <= hi - dur).only_enforce_if(z)
                    day_lits.append(z)
                    built.day_lits[(key, machine, d)] = z
                    usage[d].append(dur * z)
                model.add(sum(day_lits) == lits[machine])
        for d, terms in usage.items():
            if terms:
                model.add(sum(terms) <= built.caps.get((reserve.workcenter, d), 0))


def _start_range(var: cp_model.IntVar) -> tuple[int, int]:
    domain = list(var.proto.domain)  # (a protobuf repeated field does not index from the end)
    return int(domain[0]), int(domain[-1])


def _reserve_caps(built: BuiltModel, problem: Problem) -> dict[tuple[str, int], int]:
    """(workcenter, day) -> machine-minutes new normal work may still use (frozen and held work deducted)."""
    caps: dict[tuple[str, int], int] = {}
    down, normal = calendar.unavailable(problem), built.normal
    for reserve in problem.reserves:
        frozen_use = calendar.usage_by_day(problem, reserve, built.frozen, normal, down)
        held_use = calendar.usage_by_day(problem, reserve, built.fixed.values(), normal, down)
        limits = calendar.reserve_limits(problem, reserve, built.horizon)
        for d in calendar.days_until(problem, built.horizon):
            limit = max(limits[d], frozen_use.get(d, 0))
            caps[(reserve.workcenter, d)] = limit - frozen_use.get(d, 0) - held_use.get(d, 0)
    return caps


def _add_objectives(built: BuiltModel, problem: Problem, *, with_stability: bool, move_cost: int) -> None:
    model, horizon = built.model, built.horizon
    constant_ends = [f.end for f in built.frozen] + [f.end for f in built.fixed.values()]
    makespan = model.new_int_var(0, max(horizon, *constant_ends, 0), "makespan")
    built.makespan = makespan
    tardiness: list[LinearExpr] = []
    for job in built.jobs:
        end = built.job_ends[job.id]
        model.add(makespan >= end)
        if job.due is not None and job.weight > 0:
            late = model.new_int_var(0, max(0, horizon - job.due), f"late_{job.id}")
            model.add(late >= end - job.due)
            built.late[job.id] = late
            tardiness.append(job.weight * late)
    built.objectives["tardiness"] = sum(tardiness)
    built.objectives["makespan"] = makespan
    if with_stability and problem.previous:
        built.objectives["stability"] = _stability(built, problem, move_cost)
        built.objectives["moves"] = sum(moved for moved, _ in built.moved.values())


def _stability(built: BuiltModel, problem: Problem, move_cost: int) -> LinearExpr:
    """move_cost per operation moved (machine or start changed) + total absolute start shift in minutes."""
    model, terms = built.model, []
    for prev in problem.previous:
        start = built.starts.get(prev.key)
        if start is None:
            continue  # frozen or not in this problem
        moved = model.new_bool_var(f"moved_{prev.job}_{prev.seq}")
        lit = built.presence[prev.key].get(prev.machine)
        if lit is None:
            model.add(moved == 1)
        else:
            model.add_implication(~moved, lit)
        model.add(start == prev.start).only_enforce_if(~moved)
        shift = model.new_int_var(0, built.horizon + abs(prev.start), f"shift_{prev.job}_{prev.seq}")
        model.add_abs_equality(shift, start - prev.start)
        built.moved[prev.key] = (moved, shift)
        terms.append(move_cost * moved + shift)
    return sum(terms)
