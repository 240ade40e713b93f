"""Shift calendars turned into working time: the intervals the simulator runs and the rescheduler plans in.

Shifts are wall-clock times in the plant's timezone; a shift whose end is not after its start runs
into the next day. Results are timezone-aware UTC datetimes, clipped to the asked range, sorted, and
with touching intervals merged (a morning shift ending at 14:00 and a late shift starting at 14:00
give one interval).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from shopfloor.plant.model import WEEKDAYS, ShiftCalendar

Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class ShiftOccurrence:
    """One shift on one day, e.g. the night shift starting Monday 22:00."""

    name: str
    day: date
    start: datetime
    end: datetime


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def localize(value: datetime, zone: ZoneInfo) -> datetime:
    """A datetime from the YAML in UTC: naive ones are wall-clock time in the plant's zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def shift_occurrences(calendar: ShiftCalendar, zone: ZoneInfo, start: datetime, end: datetime) -> list[ShiftOccurrence]:
    """Every shift overlapping ``[start, end)``, clipped to it, in time order."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end <= start:
        return []
    holidays = set(calendar.holidays)
    # A night shift that started the day before the range still overlaps it.
    day = start.astimezone(zone).date() - timedelta(days=1)
    last_day = end.astimezone(zone).date()
    found: list[ShiftOccurrence] = []
    while day <= last_day:
        if day not in holidays:
            weekday = WEEKDAYS[day.weekday()]
            for shift in calendar.shifts:
                if weekday not in shift.weekdays:
                    continue
                shift_start = datetime.combine(day, shift.start, tzinfo=zone)
                end_day = day if shift.end > shift.start else day + timedelta(days=1)
                shift_end = datetime.combine(end_day, shift.end, tzinfo=zone)
                lo = max(shift_start.astimezone(UTC), start.astimezone(UTC))
                hi = min(shift_end.astimezone(UTC), end.astimezone(UTC))
                if lo < hi:
                    found.append(ShiftOccurrence(shift.name, day, lo, hi))
        day += timedelta(days=1)
    found.sort(key=lambda occurrence: occurrence.start)
    return found


def merge(intervals: list[Interval]) -> list[Interval]:
    """Sorted, with overlapping or touching intervals joined."""
    merged: list[Interval] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def subtract(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    """``intervals`` with every ``hole`` cut out (both sorted and merged)."""
    result: list[Interval] = []
    for lo, hi in intervals:
        pieces = [(lo, hi)]
        for hole_lo, hole_hi in holes:
            next_pieces: list[Interval] = []
            for a, b in pieces:
                if hole_hi <= a or hole_lo >= b:
                    next_pieces.append((a, b))
                    continue
                if a < hole_lo:
                    next_pieces.append((a, hole_lo))
                if hole_hi < b:
                    next_pieces.append((hole_hi, b))
            pieces = next_pieces
        result.extend(pieces)
    return result


def working_intervals(
    calendar: ShiftCalendar,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    machine_id: str | None = None,
) -> list[Interval]:
    """Working time in ``[start, end)``; with ``machine_id``, less that machine's planned maintenance."""
    intervals = merge([(o.start, o.end) for o in shift_occurrences(calendar, zone, start, end)])
    if machine_id is None:
        return intervals
    holes = merge(
        [(localize(w.start, zone), localize(w.end, zone)) for w in calendar.maintenance if w.machine_id == machine_id]
    )
    return subtract(intervals, holes)


def hours(intervals: list[Interval]) -> float:
    return sum((hi - lo).total_seconds() for lo, hi in intervals) / 3600.0
