"""Time ranges of the board in the plant's calendar: the current and last shift, this week and month.

Shifts come from the plant's calendars (the one with the most shifts a day is the plant's rhythm);
weeks start on Monday and months on the 1st, at local midnight in the plant's timezone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shopfloor.plant import Plant, ShiftCalendar


@dataclass(frozen=True, slots=True)
class Period:
    name: str
    start: datetime
    end: datetime


def main_calendar(plant: Plant) -> ShiftCalendar:
    return max(plant.calendars, key=lambda c: len(c.shifts))


def _shift_periods(plant: Plant, now: datetime) -> list[Period]:
    calendar = main_calendar(plant)
    zone = plant.zone
    found: list[Period] = []
    # Every shift occurrence starting within the last 8 days (a long weekend included), unclipped.
    for back in range(8, -2, -1):
        day = (now.astimezone(zone) - timedelta(days=back)).date()
        for occurrence in plant.shifts(
            calendar.id,
            datetime.combine(day, datetime.min.time(), tzinfo=zone),
            datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone),
        ):
            # Occurrences are clipped to the day asked; rebuild the whole shift from its definition.
            shift = next(s for s in calendar.shifts if s.name == occurrence.name)
            start = datetime.combine(occurrence.day, shift.start, tzinfo=zone).astimezone(UTC)
            end_day = occurrence.day if shift.end > shift.start else occurrence.day + timedelta(days=1)
            end = datetime.combine(end_day, shift.end, tzinfo=zone).astimezone(UTC)
            period = Period(f"{occurrence.day.isoformat()} {shift.name}", start, end)
            if period not in found:
                found.append(period)
    return sorted(found, key=lambda p: p.start)


def current_and_last_shift(plant: Plant, now: datetime) -> tuple[Period, Period]:
    """The shift running at ``now`` (or, between shifts, the one that ended last) and the one before it."""
    shifts = [p for p in _shift_periods(plant, now) if p.start <= now]
    if len(shifts) < 2:
        day = Period("day", now - timedelta(hours=8), now)
        return day, Period("previous", now - timedelta(hours=16), now - timedelta(hours=8))
    return shifts[-1], shifts[-2]


def week(plant: Plant, now: datetime) -> Period:
    local = now.astimezone(plant.zone)
    start = datetime.combine(local.date() - timedelta(days=local.weekday()), datetime.min.time(), tzinfo=plant.zone)
    return Period("week", start.astimezone(UTC), (start + timedelta(days=7)).astimezone(UTC))


def month(plant: Plant, now: datetime) -> Period:
    local = now.astimezone(plant.zone)
    start = datetime.combine(local.date().replace(day=1), datetime.min.time(), tzinfo=plant.zone)
    nxt = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return Period("month", start.astimezone(UTC), nxt.astimezone(UTC))


def coming_days(plant: Plant, now: datetime, days: int) -> list[Period]:
    """Local calendar days from today on, as UTC ranges."""
    today = now.astimezone(plant.zone).date()
    periods = []
    for i in range(days):
        lo = datetime.combine(today + timedelta(days=i), datetime.min.time(), tzinfo=plant.zone)
        hi = datetime.combine(today + timedelta(days=i + 1), datetime.min.time(), tzinfo=plant.zone)
        periods.append(Period(lo.date().isoformat(), lo.astimezone(UTC), hi.astimezone(UTC)))
    return periods
