"""Planned production time and ideal cycles from the plant model, cached per machine and UTC day.

The flow asks for one minute at a time; the calendar is expanded once per machine and day (shift
occurrences less planned maintenance) and each minute is cut from that. A machine the plant model
does not know has no planned time and no ideal cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from shopfloor.plant import Plant
from streams.utilization.minutes import Interval

_DAY = timedelta(days=1)


class PlantCalendar:
    """``planned(machine, start, end)`` and ``ideal_cycle(machine)`` of one plant model."""

    def __init__(self, plant: Plant, *, cache_days: int = 64) -> None:
        self.plant = plant
        self._known = {m.id: m.ideal_cycle_s for m in plant.all_machines()}
        self._days: dict[tuple[str, date], list[Interval]] = {}
        self._cache_days = cache_days

    @property
    def zone(self) -> ZoneInfo:
        return self.plant.zone

    def ideal_cycle(self, machine_id: str) -> float | None:
        return self._known.get(machine_id)

    def _day(self, machine_id: str, day: date) -> list[Interval]:
        key = (machine_id, day)
        found = self._days.get(key)
        if found is None:
            if len(self._days) > self._cache_days * max(1, len(self._known)):
                self._days.clear()
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            found = self.plant.machine_intervals(machine_id, start, start + _DAY)
            self._days[key] = found
        return found

    def planned(self, machine_id: str, start: datetime, end: datetime) -> Sequence[Interval]:
        """Planned production intervals of the machine inside ``[start, end)`` (aware UTC datetimes)."""
        if machine_id not in self._known or end <= start:
            return []
        out: list[Interval] = []
        day = start.date()
        while datetime(day.year, day.month, day.day, tzinfo=UTC) < end:
            for a, b in self._day(machine_id, day):
                x, y = max(a, start), min(b, end)
                if y > x:
                    out.append((x, y))
            day += _DAY
        return out
