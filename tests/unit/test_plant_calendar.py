"""Shift calendars to working intervals: midnight crossing, weekends, holidays, maintenance, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from shopfloor.plant import MaintenanceWindow, Shift, ShiftCalendar, load_plant
from shopfloor.plant.calendar import hours, shift_occurrences, working_intervals
from shopfloor.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri"]


def local(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=BERLIN)


def calendar(**changes: object) -> ShiftCalendar:
    fields: dict[str, object] = {
        "id": "CAL",
        "name": "day and night",
        "shifts": [
            Shift(name="day", start=time(6), end=time(14), weekdays=WEEKDAYS),
            Shift(name="night", start=time(22), end=time(6), weekdays=WEEKDAYS),
        ],
    }
    fields.update(changes)
    return ShiftCalendar.model_validate(fields)


def test_night_shift_crosses_midnight_and_weekend_is_off() -> None:
    # Friday 27 Nov 2026 00:00 to Monday 30 Nov 12:00, Berlin (UTC+1).
    got = working_intervals(calendar(), BERLIN, local(2026, 11, 27), local(2026, 11, 30, 12))
    assert got == [
        # Thursday's night shift runs into Friday and touches Friday's day shift: merged.
        (local(2026, 11, 27, 0), local(2026, 11, 27, 14)),
        # Friday's night shift ends Saturday morning; nothing starts on Saturday or Sunday.
        (local(2026, 11, 27, 22), local(2026, 11, 28, 6)),
        (local(2026, 11, 30, 6), local(2026, 11, 30, 12)),
    ]
    assert all(lo.tzinfo is UTC and hi.tzinfo is UTC for lo, hi in got)


def test_sunday_night_shift_starts_the_week() -> None:
    cal = calendar(shifts=[Shift(name="night", start=time(22), end=time(6), weekdays=["Sun"])])
    got = working_intervals(cal, BERLIN, local(2026, 11, 28), local(2026, 12, 1))
    assert got == [(local(2026, 11, 29, 22), local(2026, 11, 30, 6))]


def test_holiday_cancels_shifts_starting_on_it() -> None:
    # Friday 25 Dec is a holiday: Thursday's night shift still ends at 06:00 on the 25th.
    cal = calendar(holidays=[date(2026, 12, 25)])
    got = working_intervals(cal, BERLIN, local(2026, 12, 24, 12), local(2026, 12, 26))
    assert got == [
        (local(2026, 12, 24, 12), local(2026, 12, 24, 14)),
        (local(2026, 12, 24, 22), local(2026, 12, 25, 6)),
    ]


def test_maintenance_is_cut_out_for_its_machine_only() -> None:
    window = MaintenanceWindow(machine_id="H2", start=datetime(2026, 12, 1, 8), end=datetime(2026, 12, 1, 10))
    cal = calendar(maintenance=[window])
    start, end = local(2026, 12, 1, 6), local(2026, 12, 1, 14)
    assert working_intervals(cal, BERLIN, start, end, "H1") == [(start, end)]
    assert working_intervals(cal, BERLIN, start, end, "H2") == [
        (start, local(2026, 12, 1, 8)),
        (local(2026, 12, 1, 10), end),
    ]
    assert hours(working_intervals(cal, BERLIN, start, end, "H2")) == pytest.approx(6)


def test_night_shift_over_the_end_of_daylight_saving_lasts_nine_hours() -> None:
    # Clocks go back at 03:00 on Sunday 25 Oct 2026 in Berlin.
    cal = calendar(shifts=[Shift(name="night", start=time(22), end=time(6), weekdays=["Sat"])])
    got = working_intervals(cal, BERLIN, local(2026, 10, 24), local(2026, 10, 26))
    assert hours(got) == pytest.approx(9)


def test_range_is_clipped_and_empty_ranges_are_empty() -> None:
    cal = calendar()
    assert working_intervals(cal, BERLIN, local(2026, 12, 1, 7), local(2026, 12, 1, 8)) == [
        (local(2026, 12, 1, 7), local(2026, 12, 1, 8))
    ]
    assert working_intervals(cal, BERLIN, local(2026, 12, 1, 15), local(2026, 12, 1, 21)) == []
    assert working_intervals(cal, BERLIN, local(2026, 12, 2), local(2026, 12, 1)) == []


def test_naive_range_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        working_intervals(calendar(), BERLIN, datetime(2026, 12, 1), local(2026, 12, 2))


def test_shift_occurrences_name_each_shift() -> None:
    got = shift_occurrences(calendar(), BERLIN, local(2026, 12, 1), local(2026, 12, 2))
    assert [(o.name, o.day) for o in got] == [
        ("night", date(2026, 11, 30)),
        ("day", date(2026, 12, 1)),
        ("night", date(2026, 12, 1)),
    ]


def test_plant_working_intervals_use_the_plant_timezone() -> None:
    plant = load_plant(PROJECT_ROOT / "infra" / "plants" / "demo.yaml")
    # Asia/Shanghai is UTC+8: the 06:00 early shift starts at 22:00 UTC the day before.
    got = plant.working_intervals("CAL-2S", datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC))
    assert got == [
        (datetime(2026, 12, 1, 0, tzinfo=UTC), datetime(2026, 12, 1, 14, tzinfo=UTC)),
        (datetime(2026, 12, 1, 22, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC)),
    ]
    assert [o.name for o in plant.shifts("CAL-3S", got[0][0], got[0][1])] == ["early", "late"]
