"""A seeded, self-contained plant order book: a fastener plant's shop with heading as the bottleneck.

Shop: cutting -> heading (bottleneck, rush reserve) -> [threading] -> [heat treatment] -> [plating] ->
packing; each workcenter has several machines, each operation 1-3 eligible machines of its workcenter
with machine-specific speeds. Two shifts (06:00-22:00): nights are unavailable; t=0 is 06:00 of day 0.
Due dates are drawn so the heading load is tight: under EDD some jobs end late. About 12% of the jobs
are rush (tighter due date), about 60% of those may use the rush reserve.
"""

from __future__ import annotations

import random

from rescheduler.model.problem import Job, Operation, Problem, RushReserve, Unavailability

# workcenter -> (machines, (min, max) base minutes per operation, share of routings that include it)
WORKCENTERS: dict[str, tuple[int, tuple[int, int], float]] = {
    "CUT": (3, (20, 60), 1.0),
    "HEAD": (3, (60, 170), 1.0),
    "THREAD": (3, (30, 90), 0.7),
    "HEAT": (2, (40, 100), 0.5),
    "PLATE": (2, (30, 80), 0.4),
    "PACK": (2, (10, 30), 1.0),
}
BOTTLENECK = "HEAD"
SHIFT_START, SHIFT_END, DAY = 6 * 60, 22 * 60, 24 * 60


def machines_of(workcenter: str) -> tuple[str, ...]:
    return tuple(f"{workcenter}{i + 1}" for i in range(WORKCENTERS[workcenter][0]))


def night_shifts(machines: tuple[str, ...], days: int) -> tuple[Unavailability, ...]:
    """Off-shift 22:00-06:00 for every machine, in plan minutes (t=0 is 06:00 of day 0)."""
    nights: list[Unavailability] = []
    for d in range(days):
        start = d * DAY + SHIFT_END - SHIFT_START
        end = start + DAY - (SHIFT_END - SHIFT_START)
        nights.extend(Unavailability(machine=m, start=start, end=end, reason="off-shift") for m in machines)
    return tuple(nights)


def _routing(rng: random.Random, seq_cap: int) -> list[str]:
    steps = [wc for wc, (_, _, share) in WORKCENTERS.items() if rng.random() < share]
    return steps[:seq_cap]


def _operation(rng: random.Random, seq: int, workcenter: str) -> Operation:
    machines = machines_of(workcenter)
    lo, hi = WORKCENTERS[workcenter][1]
    base = rng.randint(lo, hi)
    eligible = rng.sample(machines, k=rng.randint(min(2, len(machines)), len(machines)))
    return Operation(seq=seq, durations={m: round(base * rng.uniform(0.9, 1.2)) for m in sorted(eligible)})


def generate(n_ops: int, seed: int = 0, *, tightness: float = 0.85) -> Problem:
    """An order book of exactly `n_ops` operations. Lower `tightness` means earlier due dates."""
    rng = random.Random(seed)
    all_machines = tuple(m for wc in WORKCENTERS for m in machines_of(wc))
    head_minutes_per_day = len(machines_of(BOTTLENECK)) * (SHIFT_END - SHIFT_START)
    # heading work of the whole book ~ ops/4.5 jobs x mean heading time: the book spans about that many days
    load_days = (n_ops / 4.5) * sum(WORKCENTERS[BOTTLENECK][1]) / 2 / head_minutes_per_day
    span = 1.25 * load_days * DAY  # what a good plan's makespan comes to, nights included
    jobs: list[Job] = []
    left = n_ops
    while left > 0:
        route = _routing(rng, seq_cap=left)
        ops = tuple(_operation(rng, seq, wc) for seq, wc in enumerate(route))
        left -= len(ops)
        work = sum(min(op.durations.values()) for op in ops)
        release = 0 if rng.random() < 0.7 else rng.randint(0, int(load_days * DAY * 0.3))
        rush = rng.random() < 0.12
        spread = rng.uniform(0.0, 1.0) * span * tightness
        due = release + int(work * 1.5 + (spread * 0.3 if rush else spread))
        jobs.append(
            Job(
                id=f"WO{len(jobs) + 1:04d}",
                operations=ops,
                release=release,
                due=due,
                weight=rng.randint(1, 5),
                rush=rush,
                reserve_eligible=rush and rng.random() < 0.6,
            )
        )
    days = int(load_days * 4) + 14
    return Problem(
        name=f"plant-{n_ops}-s{seed}",
        machines=all_machines,
        jobs=tuple(jobs),
        unavailability=night_shifts(all_machines, days),
        reserves=(RushReserve(workcenter=BOTTLENECK, machines=machines_of(BOTTLENECK), share=0.15),),
        day_origin=-SHIFT_START,
    )
