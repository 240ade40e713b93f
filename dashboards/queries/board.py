"""The load board's queries. Every SQL the board runs is here, so a table that a stream processor
later takes over (or renames) is switched in one place."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from dashboards import periods
from dashboards.models import (
    Alert,
    Board,
    Bottleneck,
    Heatmap,
    LateOrder,
    LoadBoard,
    OeeBoard,
    OnTime,
    OrderPool,
    Pareto,
    ParetoBar,
    PoolStatus,
    Tile,
    WorkcenterDayLoad,
    WorkcenterQueue,
    WorkshopOee,
    WorkshopPending,
)
from shopfloor.db.pool import Connection
from shopfloor.plant import Plant


def _pct(value: object) -> float | None:
    return None if value is None else round(float(value) * 100.0, 1)  # type: ignore[arg-type]


def tiles(conn: Connection, plant: Plant) -> list[Tile]:
    current = {
        str(m): (str(s), since)
        for m, s, since in conn.execute("SELECT machine_id, state, since FROM machine_current_state").fetchall()
    }
    return _tiles(plant, current)


def no_data_tiles(plant: Plant) -> list[Tile]:
    return _tiles(plant, {})


def _tiles(plant: Plant, current: dict[str, tuple[str, datetime | None]]) -> list[Tile]:
    out = []
    for ws in plant.workshops:
        for line in ws.lines:
            for m in line.machines:
                state, since = current.get(m.id, ("NO_DATA", None))
                out.append(
                    Tile(
                        machine_id=m.id,
                        name=m.name,
                        workshop_id=ws.id,
                        workcenter_id=m.workcenter_id,
                        state=state,
                        since=since,
                    )
                )
    return out


def heatmap(conn: Connection, plant: Plant, now: datetime) -> Heatmap:
    """Running share of each minute of the last hour, per machine."""
    end = now.replace(second=0, microsecond=0)
    minutes = [end - timedelta(minutes=59 - i) for i in range(60)]
    machines = [m.id for m in plant.all_machines()]
    index_m = {m: i for i, m in enumerate(machines)}
    index_t = {t: i for i, t in enumerate(minutes)}
    rows = conn.execute(
        "SELECT machine_id, bucket, running_s,"
        " running_s + idle_s + setup_s + stopped_s + maintenance_s + fault_s + offline_s"
        " FROM machine_utilization_1m WHERE bucket >= %s AND bucket <= %s",
        (minutes[0], end),
    ).fetchall()
    cells = []
    for machine_id, bucket, running, total in rows:
        if machine_id in index_m and bucket in index_t and total:
            cells.append((index_t[bucket], index_m[machine_id], round(100.0 * float(running) / float(total), 1)))
    return Heatmap(machines=machines, minutes=minutes, cells=sorted(cells))


def oee(conn: Connection, plant: Plant, now: datetime) -> OeeBoard:
    """OEE per workshop over the current shift: the mean of its machines' minute figures."""
    shift, _ = periods.current_and_last_shift(plant, now)
    rows = conn.execute(
        "SELECT machine_id, avg(availability), avg(performance), avg(quality), avg(oee)"
        " FROM machine_utilization_1m WHERE bucket >= %s AND bucket < %s GROUP BY machine_id",
        (shift.start, now),
    ).fetchall()
    by_machine = {str(r[0]): r[1:] for r in rows}
    out = []
    for ws in plant.workshops:
        figures = [by_machine[m.id] for line in ws.lines for m in line.machines if m.id in by_machine]

        def mean(i: int, figures: list[tuple[object, ...]] = figures) -> float | None:
            values = [float(f[i]) for f in figures if f[i] is not None]  # type: ignore[arg-type]
            return sum(values) / len(values) if values else None

        out.append(
            WorkshopOee(
                workshop_id=ws.id,
                name=ws.name,
                name_zh=ws.name_zh,
                availability_pct=_pct(mean(0)),
                performance_pct=_pct(mean(1)),
                quality_pct=_pct(mean(2)),
                oee_pct=_pct(mean(3)),
            )
        )
    return OeeBoard(
        shift=shift.name,
        shift_start=shift.start,
        red_below=plant.kpi.oee_red_below,
        green_above=plant.kpi.oee_green_above,
        workshops=out,
    )


def load(conn: Connection, plant: Plant, now: datetime, days: int) -> LoadBoard:
    """Hours the current plan puts on each workcenter per plant-local day, against calendar capacity."""
    day_periods = periods.coming_days(plant, now, days)
    lo, hi = max(now, day_periods[0].start), day_periods[-1].end
    rows = conn.execute(
        "SELECT so.machine_id, greatest(so.start_ts, %(lo)s), least(so.end_ts, %(hi)s)"
        " FROM scheduled_operation so JOIN schedule_plan p USING (plan_id)"
        " WHERE p.is_current AND p.site_id = %(site)s AND so.end_ts > %(lo)s AND so.start_ts < %(hi)s",
        {"lo": lo, "hi": hi, "site": plant.site_id},
    ).fetchall()
    planned: dict[tuple[str, str], float] = defaultdict(float)
    for machine_id, start, end in rows:
        try:
            wc_id = plant.workcenter_of(str(machine_id)).id
        except KeyError:
            continue
        for day in day_periods:
            overlap = (min(end, day.end) - max(start, day.start)).total_seconds()
            if overlap > 0:
                planned[(wc_id, day.name)] += overlap / 3600.0
    cells = []
    for wc in plant.workcenters:
        for day in day_periods:
            capacity = plant.capacity_hours(wc.id, max(now, day.start), day.end)
            hours = planned[(wc.id, day.name)]
            cells.append(
                WorkcenterDayLoad(
                    workcenter_id=wc.id,
                    name=wc.name,
                    day=day.name,
                    planned_hours=round(hours, 2),
                    capacity_hours=round(capacity, 2),
                    load_pct=round(100.0 * hours / capacity, 1) if capacity > 0 else None,
                )
            )
    queues = [
        WorkcenterQueue(workcenter_id=str(r[0]), ts=r[1], queued_hours=float(r[2]), capacity_hours=float(r[3]))
        for r in conn.execute(
            "SELECT DISTINCT ON (workcenter_id) workcenter_id, ts, queued_hours, capacity_hours"
            " FROM workcenter_load WHERE ts > %s ORDER BY workcenter_id, ts DESC",
            (now - timedelta(days=1),),
        ).fetchall()
    ]
    return LoadBoard(
        days=[d.name for d in day_periods], workcenters=[wc.id for wc in plant.workcenters], cells=cells, queues=queues
    )


# Open work orders with their next open operation: where the work waits.
_PENDING = """
SELECT DISTINCT ON (o.work_order_id) o.work_order_id, o.workcenter_id
FROM operation o JOIN work_order w USING (work_order_id)
WHERE w.status IN ('released', 'started', 'paused') AND o.status <> 'done'
ORDER BY o.work_order_id, o.seq
"""


def pool(conn: Connection, plant: Plant) -> OrderPool:
    latest = conn.execute("SELECT max(bucket) FROM order_pool_1m").fetchone()
    bucket = latest[0] if latest else None
    by_status = [
        PoolStatus(status=str(r[0]), orders=int(r[1]), rush_orders=int(r[2]), work_orders=int(r[3]), quantity=int(r[4]))
        for r in conn.execute(
            "SELECT status, sum(orders), sum(rush_orders), sum(work_orders), sum(quantity)"
            " FROM order_pool_1m WHERE bucket = %s GROUP BY status ORDER BY status",
            (bucket,),
        ).fetchall()
    ]
    per_workshop: dict[str, int] = defaultdict(int)
    for _wo, wc in conn.execute(_PENDING).fetchall():
        try:
            per_workshop[plant.workcenter(str(wc)).workshop_id] += 1
        except KeyError:
            continue
    pending = [
        WorkshopPending(workshop_id=ws.id, name=ws.name, name_zh=ws.name_zh, pending_work_orders=per_workshop[ws.id])
        for ws in plant.workshops
    ]
    return OrderPool(bucket=bucket, by_status=by_status, total_orders=sum(s.orders for s in by_status), pending=pending)


def bottlenecks(conn: Connection) -> list[Bottleneck]:
    return [
        Bottleneck(
            workcenter_id=str(r[0]),
            machine_id=r[1],
            load_hours=float(r[2]),
            capacity_hours=float(r[3]),
            full_for_hours=float(r[4]),
            cause=str(r[5]),
            since=r[6],
        )
        for r in conn.execute(
            "SELECT workcenter_id, machine_id, load_hours, capacity_hours, full_for_hours, cause, event_ts"
            " FROM bottleneck WHERE active ORDER BY full_for_hours DESC, workcenter_id"
        ).fetchall()
    ]


def late_orders(conn: Connection, plant: Plant, limit: int = 12) -> list[LateOrder]:
    return [
        LateOrder(
            order_id=str(r[0]),
            customer_id=r[1],
            due=r[2],
            projected=r[3],
            slip_hours=round((r[3] - r[2]).total_seconds() / 3600.0, 1),
            cause=str(r[4]),
        )
        for r in conn.execute(
            "SELECT po.order_id, po.customer_id, po.due, po.projected, po.cause"
            " FROM planned_order po JOIN schedule_plan p USING (plan_id)"
            " WHERE p.is_current AND p.site_id = %s AND po.late"
            " ORDER BY po.projected - po.due DESC, po.order_id LIMIT %s",
            (plant.site_id, limit),
        ).fetchall()
    ]


def alerts(conn: Connection, limit: int = 12) -> list[Alert]:
    return [
        Alert(
            alert_id=str(r[0]),
            kind=str(r[1]),
            audience=str(r[2]),
            order_id=str(r[3]),
            cause=str(r[4]),
            raised_at=r[5],
            projected=r[6],
        )
        for r in conn.execute(
            "SELECT alert_id, kind, audience, order_id, cause, raised_at, projected FROM alert"
            " WHERE state = 'raised' ORDER BY raised_at DESC, alert_id LIMIT %s",
            (limit,),
        ).fetchall()
    ]


# An order is delivered when all its work orders are done; on time when the last finished by its due date.
_ON_TIME = """
WITH delivered AS (
    SELECT c.order_id, c.due_date, max(w.actual_finish) AS finished
    FROM customer_order c JOIN work_order w USING (order_id)
    WHERE c.status <> 'cancelled'
    GROUP BY c.order_id, c.due_date
    HAVING bool_and(w.status IN ('done', 'cancelled')) AND max(w.actual_finish) IS NOT NULL
)
SELECT count(*), count(*) FILTER (WHERE finished <= due_date)
FROM delivered WHERE finished >= %s AND finished < %s
"""


def on_time(conn: Connection, plant: Plant, now: datetime) -> list[OnTime]:
    out = []
    for period in (periods.week(plant, now), periods.month(plant, now)):
        row = conn.execute(_ON_TIME, (period.start, period.end)).fetchone()
        delivered, good = (int(row[0]), int(row[1])) if row else (0, 0)
        out.append(
            OnTime(
                period=period.name,
                start=period.start,
                delivered=delivered,
                on_time=good,
                pct=round(100.0 * good / delivered, 1) if delivered else None,
                target_pct=plant.kpi.on_time_target_pct,
            )
        )
    return out


# Each machine's segments out of RUNNING in [start, end), by reason (the state where no reason was given).
# The last state before the shift counts from the shift's start (looked for within two days).
_DOWN_SEGMENTS = """
WITH seg AS (
    SELECT machine_id, ts, state, reason_code,
           lead(ts) OVER (PARTITION BY machine_id ORDER BY ts) AS next_ts
    FROM machine_state WHERE ts < %(end)s AND ts >= %(start)s - interval '2 days'
)
SELECT machine_id, coalesce(nullif(reason_code, ''), state) AS reason,
       greatest(ts, %(start)s), least(coalesce(next_ts, %(end)s), %(end)s)
FROM seg
WHERE state NOT IN ('RUNNING', 'IDLE') AND coalesce(next_ts, %(end)s) > %(start)s
"""

Segment = tuple[str, str, datetime, datetime]


def downtime_by_reason(
    segments: Iterable[Segment], working: Callable[[str], list[tuple[datetime, datetime]]]
) -> dict[str, float]:
    """Minutes per reason, counting only each machine's planned production time (``working``): a machine
    stopped outside its own calendar (a workshop without a night shift) loses nothing (ISO 22400)."""
    out: dict[str, float] = {}
    for machine, reason, seg_start, seg_end in segments:
        overlap = sum(
            max(0.0, (min(seg_end, w_end) - max(seg_start, w_start)).total_seconds())
            for w_start, w_end in working(machine)
        )
        if overlap > 0:
            out[reason] = out.get(reason, 0.0) + overlap / 60.0
    return out


def pareto(conn: Connection, plant: Plant, now: datetime) -> Pareto:
    shift, _ = periods.current_and_last_shift(plant, now)
    end = min(now, shift.end)
    known = {m.id for m in plant.all_machines()}
    calendars: dict[str, list[tuple[datetime, datetime]]] = {}

    def working(machine: str) -> list[tuple[datetime, datetime]]:
        if machine not in calendars:
            calendars[machine] = plant.machine_intervals(machine, shift.start, end) if machine in known else []
        return calendars[machine]

    rows = conn.execute(_DOWN_SEGMENTS, {"start": shift.start, "end": end}).fetchall()
    minutes = downtime_by_reason(((str(r[0]), str(r[1]), r[2], r[3]) for r in rows), working)
    bars = [
        ParetoBar(reason=reason, minutes=round(value, 1))
        for reason, value in sorted(minutes.items(), key=lambda kv: (-kv[1], kv[0]))
        if round(value, 1) > 0
    ]
    return Pareto(shift=shift.name, shift_start=shift.start, shift_end=shift.end, bars=bars)


def board_snapshot(conn: Connection, plant: Plant, now: datetime, load_days: int) -> Board:
    return Board(
        tiles=tiles(conn, plant),
        heatmap=heatmap(conn, plant, now),
        oee=oee(conn, plant, now),
        load=load(conn, plant, now, load_days),
        pool=pool(conn, plant),
        bottlenecks=bottlenecks(conn),
        late=late_orders(conn, plant),
        alerts=alerts(conn),
        on_time=on_time(conn, plant, now),
        pareto=pareto(conn, plant, now),
    )
