"""The machine page's queries: state timeline, OEE components, counters and process values per shift."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from dashboards import periods
from dashboards.models_plan import MachineDetail, ProcessValue, ShiftFigures, StateSegment
from shopfloor.db.pool import Connection
from shopfloor.plant import Plant

_TIMELINE = """
WITH seg AS (
    SELECT ts, state, reason_code, lead(ts) OVER (ORDER BY ts) AS next_ts
    FROM machine_state WHERE machine_id = %(m)s AND ts < %(end)s AND ts >= %(start)s - interval '2 days'
)
SELECT state, reason_code, greatest(ts, %(start)s), least(coalesce(next_ts, %(end)s), %(end)s)
FROM seg WHERE coalesce(next_ts, %(end)s) > %(start)s ORDER BY ts
"""

_UTIL = """
SELECT avg(availability), avg(performance), avg(quality), avg(oee), coalesce(sum(good), 0), coalesce(sum(scrap), 0),
       coalesce(sum(running_s), 0),
       coalesce(sum(stopped_s + maintenance_s + fault_s + offline_s + setup_s), 0)
FROM machine_utilization_1m WHERE machine_id = %s AND bucket >= %s AND bucket < %s
"""

_PROCESS = """
SELECT name, min(unit), (array_agg(value ORDER BY ts DESC))[1], min(value), max(value), avg(value), count(*)
FROM machine_process WHERE machine_id = %s AND ts >= %s AND ts < %s GROUP BY name ORDER BY name
"""

_SERIES = """
SELECT name, date_trunc('minute', ts) AS minute, avg(value)
FROM machine_process WHERE machine_id = %s AND ts >= %s AND ts < %s GROUP BY name, minute ORDER BY name, minute
"""


def _pct(value: object) -> float | None:
    return None if value is None else round(float(value) * 100.0, 1)  # type: ignore[arg-type]


def _figures(conn: Connection, machine_id: str, period: periods.Period, now: datetime) -> ShiftFigures:
    end = min(now, period.end)
    row = conn.execute(_UTIL, (machine_id, period.start, end)).fetchone()
    assert row is not None  # an aggregate without GROUP BY always answers one row
    return ShiftFigures(
        shift=period.name,
        start=period.start,
        end=period.end,
        availability_pct=_pct(row[0]),
        performance_pct=_pct(row[1]),
        quality_pct=_pct(row[2]),
        oee_pct=_pct(row[3]),
        good=int(row[4]),
        scrap=int(row[5]),
        running_s=float(row[6]),
        downtime_s=float(row[7]),
        process=[
            ProcessValue(
                name=str(r[0]),
                unit=str(r[1]),
                last=float(r[2]),
                minimum=float(r[3]),
                maximum=float(r[4]),
                average=round(float(r[5]), 3),
                samples=int(r[6]),
            )
            for r in conn.execute(_PROCESS, (machine_id, period.start, end)).fetchall()
        ],
    )


def machine_detail(conn: Connection, plant: Plant, machine_id: str, now: datetime) -> MachineDetail:
    """Raises KeyError for a machine the plant does not have."""
    machine = plant.machine(machine_id)
    location = plant.location(machine_id)
    current, last = periods.current_and_last_shift(plant, now)
    state_row = conn.execute(
        "SELECT state, since FROM machine_current_state WHERE machine_id = %s", (machine_id,)
    ).fetchone()
    timeline = [
        StateSegment(state=str(r[0]), reason=r[1], start=r[2], end=r[3])
        for r in conn.execute(_TIMELINE, {"m": machine_id, "start": last.start, "end": now}).fetchall()
    ]
    series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for name, minute, value in conn.execute(_SERIES, (machine_id, last.start, now)).fetchall():
        series[str(name)].append((minute, round(float(value), 3)))
    counter = conn.execute(
        "SELECT good, scrap FROM machine_counter WHERE machine_id = %s ORDER BY ts DESC LIMIT 1", (machine_id,)
    ).fetchone()
    return MachineDetail(
        machine_id=machine_id,
        name=machine.name,
        workshop_id=location.workshop_id,
        workcenter_id=machine.workcenter_id,
        state=str(state_row[0]) if state_row else "NO_DATA",
        since=state_row[1] if state_row else None,
        timeline=timeline,
        current=_figures(conn, machine_id, current, now),
        last=_figures(conn, machine_id, last, now),
        process_series=dict(series),
        last_counter=(int(counter[0]), int(counter[1])) if counter else None,
    )
