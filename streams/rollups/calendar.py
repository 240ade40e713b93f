"""The plant calendar in the database, for the shift and day roll-ups.

``shift_occurrence`` holds every machine's shift occurrences (from its workcenter's calendar) and
``plant_calendar`` the plant's time zone and the local time its production day starts (the earliest
shift start). Both are written from the plant model, idempotently by natural key: run again whenever
the model changes or to extend the range ahead.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Literal

from shopfloor.db.bulk import BulkTable, write_batch
from shopfloor.db.pool import Connection
from shopfloor.plant import Plant

DbPath = Literal["timescaledb", "postgresql"]

SHIFTS = BulkTable(
    "shift_occurrence",
    ("machine_id", "shift_name", "day", "start_at", "end_at"),
    key=("machine_id", "start_at"),
    update=("shift_name", "day", "end_at"),
)


def db_path(conn: Connection) -> DbPath:
    """Which database path the schema runs on (the roll-ups differ: continuous aggregates or views)."""
    row = conn.execute("SELECT shopfloor_has_timescaledb()").fetchone()
    return "timescaledb" if row and row[0] else "postgresql"


def day_start(plant: Plant) -> time:
    """The local time a production day starts: the earliest shift start of any calendar."""
    return min(shift.start for calendar in plant.calendars for shift in calendar.shifts)


def sync_calendar(conn: Connection, plant: Plant, start: datetime, end: datetime) -> int:
    """Write the plant calendar and the shift occurrences overlapping ``[start, end)``; returns shifts written."""
    rows: list[tuple[object, ...]] = []
    # The calendar clips occurrences to the range asked: ask two days wider and keep the unclipped ones
    # (a shift is shorter than a day), so every run writes the same natural key for a shift.
    day = timedelta(days=1)
    for machine in plant.all_machines():
        calendar_id = plant.workcenter_of(machine.id).calendar_id
        for occurrence in plant.shifts(calendar_id, start - 2 * day, end + 2 * day):
            if occurrence.start < start - day or occurrence.end > end + day:
                continue
            rows.append((machine.id, occurrence.name, occurrence.day, occurrence.start, occurrence.end))
    first = day_start(plant)
    with conn.transaction():
        conn.execute(
            "INSERT INTO plant_calendar (singleton, timezone, day_start) VALUES (true, %s, %s) "
            "ON CONFLICT (singleton) DO UPDATE SET timezone = EXCLUDED.timezone, day_start = EXCLUDED.day_start",
            (plant.timezone, timedelta(hours=first.hour, minutes=first.minute, seconds=first.second)),
        )
        written = write_batch(conn, SHIFTS, rows) if rows else 0
    return written
