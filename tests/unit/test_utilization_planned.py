"""Planned production time from the plant calendar: shifts, planned maintenance, no shift, unknown machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shopfloor.plant import parse_plant
from streams.rollups.calendar import day_start
from streams.utilization.planned import PlantCalendar

pytestmark = pytest.mark.unit

PLANT = """\
enterprise_id: acme
site_id: plant1
timezone: Asia/Shanghai
workshops:
  - id: heading
    name: Cold heading
    name_zh: 冷镦车间
    lines:
      - id: HL1
        name: Heading line 1
        machines:
          - {id: H1, name: H1, workcenter_id: WC, ideal_cycle_s: 0.5}
          - {id: H2, name: H2, workcenter_id: WC, ideal_cycle_s: 0.8}
workcenters:
  - {id: WC, name: Heading, workshop_id: heading, machine_ids: [H1, H2], calendar_id: CAL}
calendars:
  - id: CAL
    name: Day and late
    shifts:
      - {name: early, start: 06:00, end: 14:00, weekdays: [Mon, Tue, Wed, Thu, Fri]}
      - {name: late, start: 14:00, end: 22:00, weekdays: [Mon, Tue, Wed, Thu, Fri]}
    maintenance:
      - {machine_id: H2, start: 2026-12-01T09:00:30, end: 2026-12-01T10:00:00}
"""
MINUTE = timedelta(minutes=1)


def utc(hour: int, minute: int, second: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, hour, minute, second, tzinfo=UTC)


def seconds(intervals: object) -> float:
    return sum((b - a).total_seconds() for a, b in intervals)  # type: ignore[attr-defined]


def test_planned_time_per_minute() -> None:
    calendar = PlantCalendar(parse_plant(PLANT))
    # 09:00 local = 01:00 UTC (Shanghai is UTC+8): inside the early shift.
    assert seconds(calendar.planned("H1", utc(1, 0), utc(1, 0) + MINUTE)) == 60.0
    # H2's maintenance starts at 09:00:30 local: half of that minute is planned.
    assert seconds(calendar.planned("H2", utc(1, 0), utc(1, 0) + MINUTE)) == 30.0
    # 22:30 local = 14:30 UTC: no shift, nothing planned.
    assert calendar.planned("H1", utc(14, 30), utc(14, 30) + MINUTE) == []
    # Saturday (5 Dec): no shift at all.
    assert calendar.planned("H1", utc(1, 0, day=5), utc(1, 0, day=5) + MINUTE) == []
    assert calendar.planned("X9", utc(1, 0), utc(1, 0) + MINUTE) == []
    assert (calendar.ideal_cycle("H2"), calendar.ideal_cycle("X9")) == (0.8, None)


def test_a_range_across_utc_midnight_and_the_shift_change() -> None:
    calendar = PlantCalendar(parse_plant(PLANT))
    # 23:00 UTC 1 Dec to 01:00 UTC 2 Dec = 07:00-09:00 local on 2 Dec: all early shift.
    got = calendar.planned("H1", utc(23, 0), utc(1, 0, day=2))
    assert seconds(got) == 7200.0
    # 05:59-06:01 UTC = 13:59-14:01 local: early then late, both planned.
    assert seconds(calendar.planned("H1", utc(5, 59), utc(6, 1))) == 120.0


def test_the_production_day_starts_with_the_earliest_shift() -> None:
    assert day_start(parse_plant(PLANT)).hour == 6
