"""Queued load per workcenter against calendar capacity, read from the current-state tables.

Queued hours of an open operation = remaining pieces (work-order quantity less the step's good) x
standard time, plus its setup when it has not started; the standard time is the learned one once it
has ``min_samples`` samples, else the routing's. Capacity over a horizon is the sum over the
workcenter's machines that are not broken down (FAULT, MAINTENANCE, OFFLINE in
``machine_current_state``) of their calendar working time less planned maintenance. ``full_for``
is how long those machines take to work the queue off, walking their working time from now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from shopfloor.db.pool import Connection
from shopfloor.plant import Plant

BREAKDOWN_STATES: Final = frozenset({"FAULT", "MAINTENANCE", "OFFLINE"})
# How far ahead full_for is searched: a queue longer than this reads as this.
FULL_FOR_LIMIT: Final = timedelta(days=30)
# Orders listed as affected by one workcenter's bottleneck.
MAX_ORDERS_LISTED: Final = 50


@dataclass(frozen=True, slots=True)
class Queue:
    workcenter_id: str
    queued_hours: float
    work_orders: int
    orders: tuple[str, ...]  # by due date, earliest first


@dataclass(frozen=True, slots=True)
class HorizonLoad:
    workcenter_id: str
    horizon: str
    horizon_end: datetime
    queued_hours: float
    capacity_hours: float
    full_for_hours: float
    machines_down: tuple[str, ...]

    @property
    def load_ratio(self) -> float | None:
        return self.queued_hours / self.capacity_hours if self.capacity_hours > 0 else None


_QUEUE_SQL = """
SELECT o.workcenter_id,
       sum((GREATEST(w.quantity - o.good, 0) * COALESCE(st.unit_min, o.unit_min)
            + CASE WHEN o.status = 'pending' THEN o.setup_min ELSE 0 END) / 60.0) AS hours,
       count(DISTINCT o.work_order_id),
       (array_agg(DISTINCT w.order_id))
FROM operation o
JOIN work_order w USING (work_order_id)
LEFT JOIN LATERAL (
    SELECT s.unit_min FROM standard_time s
    WHERE s.product_id = w.product_id AND s.operation_seq = o.seq AND s.workcenter_id = o.workcenter_id
      AND s.samples >= %(min_samples)s
) st ON true
WHERE o.status <> 'done' AND w.status NOT IN ('done', 'cancelled')
GROUP BY o.workcenter_id
"""


def read_queues(conn: Connection, min_samples: int) -> dict[str, Queue]:
    rows = conn.execute(_QUEUE_SQL, {"min_samples": min_samples}).fetchall()
    due: dict[str, datetime] = dict(conn.execute("SELECT order_id, due_date FROM customer_order").fetchall())
    queues = {}
    for wc, hours, wos, orders in rows:
        ordered = sorted(orders, key=lambda o: (due[o].timestamp() if o in due else float("inf"), o))
        queues[wc] = Queue(wc, float(hours or 0.0), int(wos), tuple(ordered[:MAX_ORDERS_LISTED]))
    return queues


def read_machines_down(conn: Connection) -> dict[str, str]:
    """Machine -> state, for machines in a breakdown state (the table util15's processor keeps)."""
    return {
        m: s for m, s in conn.execute("SELECT machine_id, state FROM machine_current_state") if s in BREAKDOWN_STATES
    }


def _full_for(intervals: list[tuple[datetime, datetime]], now: datetime, queued_hours: float) -> float:
    """Hours from ``now`` until the machines' working time (intervals may overlap) adds up to the queue."""
    if queued_hours <= 0:
        return 0.0
    edges: list[tuple[datetime, int]] = []
    for lo, hi in intervals:
        edges += [(lo, 1), (hi, -1)]
    edges.sort()
    need_s = queued_hours * 3600.0
    working, last = 0, now
    for at, step in edges:
        if working and at > last:
            span = (at - last).total_seconds() * working
            if span >= need_s:
                return (last - now).total_seconds() / 3600.0 + need_s / working / 3600.0
            need_s -= span
        working += step
        last = max(last, at)
    return FULL_FOR_LIMIT.total_seconds() / 3600.0


def horizon_ends(plant: Plant, workcenter_id: str, now: datetime, days: tuple[float, ...]) -> dict[str, datetime]:
    """The end of each horizon: the running (or next) shift of the workcenter's calendar, then N days."""
    ends: dict[str, datetime] = {}
    shifts = [s for s in plant.shifts(plant.workcenter(workcenter_id).calendar_id, now, now + timedelta(days=8))]
    upcoming = [s.end for s in shifts if s.end > now]
    if upcoming:
        ends["shift"] = min(upcoming)
    for d in days:
        ends[f"{d:g}d"] = now + timedelta(days=d)
    return ends


def compute_loads(
    plant: Plant,
    queues: dict[str, Queue],
    down: dict[str, str],
    now: datetime,
    days: tuple[float, ...] = (1.0, 3.0, 7.0),
) -> list[HorizonLoad]:
    """Every workcenter's queue against each horizon's capacity (workcenters with no queue too)."""
    loads: list[HorizonLoad] = []
    for wc in plant.workcenters:
        queued = queues[wc.id].queued_hours if wc.id in queues else 0.0
        working = [m for m in wc.machine_ids if m not in down]
        limit = now + FULL_FOR_LIMIT
        intervals = [
            (max(lo, now), hi) for m in working for lo, hi in plant.machine_intervals(m, now, limit) if hi > now
        ]
        full_for = _full_for(intervals, now, queued)
        for name, end in horizon_ends(plant, wc.id, now, days).items():
            capacity = sum((min(hi, end) - lo).total_seconds() for lo, hi in intervals if lo < end) / 3600.0
            broken = tuple(sorted(set(wc.machine_ids) & set(down)))
            loads.append(HorizonLoad(wc.id, name, end, queued, max(capacity, 0.0), full_for, broken))
    return loads
