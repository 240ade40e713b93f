"""Cause text of a late order, computed from the plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rescheduler.service.cause import PlantView, human_duration, late_cause, longest_wait, workcenter_load
from rescheduler.service.plan import PlannedOp

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)

VIEW = PlantView(
    machine_workcenter={"C1": "CUT", "H1": "HEAD", "H2": "HEAD", "R1": "ROLL"},
    machine_names={"C1": "Saw C1", "H1": "Heading press H1", "H2": "Heading press H2", "R1": "Roller R1"},
    workcenter_names={"CUT": "Cutting", "HEAD": "Cold heading", "ROLL": "Thread rolling"},
    workcenter_machines={"CUT": ["C1"], "HEAD": ["H1", "H2"], "ROLL": ["R1"]},
)


def op(wo: str, seq: int, machine: str, start_h: float, dur_h: float) -> PlannedOp:
    start = NOW + timedelta(hours=start_h)
    return PlannedOp(wo, seq, machine, start, start + timedelta(hours=dur_h))


def test_human_duration() -> None:
    assert human_duration(timedelta(hours=72)) == "3 days"
    assert human_duration(timedelta(hours=5.4)) == "5 hours"
    assert human_duration(timedelta(hours=1)) == "1 hour"
    assert human_duration(timedelta(minutes=20)) == "20 min"


def test_longest_wait_finds_the_operation_that_waited() -> None:
    # W1: cut 0-2, then heading only at 72 h (waited 70 h), then rolling right after.
    order = [op("W1", 1, "C1", 0, 2), op("W1", 2, "H1", 72, 3), op("W1", 3, "R1", 75, 1)]
    found = longest_wait(order, NOW, {})
    assert found is not None
    assert found[0].key == ("W1", 2)
    assert found[1] == timedelta(hours=70)


def test_workcenter_load_counts_booked_share_of_all_machines() -> None:
    # Two machines over 10 h = 20 machine-hours; 10 h + 5 h booked = 75%.
    plan = [op("X", 1, "H1", 0, 10), op("Y", 1, "H2", 5, 8)]
    assert workcenter_load(plan, ["H1", "H2"], NOW, NOW + timedelta(hours=10)) == pytest.approx(0.75)


def test_cause_names_broken_machine_and_full_workcenter() -> None:
    others = [op("X", 1, "H1", 0, 72), op("Y", 1, "H2", 0, 60)]
    order = [op("W1", 1, "C1", 0, 2), op("W1", 2, "H2", 72, 3), op("W1", 3, "R1", 75, 1)]
    view = PlantView(**{**VIEW.__dict__, "down": {"H2": "FAULT"}})
    text = late_cause(order, others + order, view, NOW)
    # Load of heading over the 72 h before the op: (72 + 60) / (2 * 72).
    assert (
        text == "Heading press H2 in FAULT; Cold heading full for 3 days (load 92%); waits 3 days for Heading press H2"
    )


def test_cause_prefers_bottleneck_full_for_from_streams() -> None:
    order = [op("W1", 1, "H1", 10, 1)]
    view = PlantView(**{**VIEW.__dict__, "bottleneck_full_for_h": {"HEAD": 48.0}})
    text = late_cause(order, order, view, NOW)
    assert text.startswith("Cold heading full for 2 days")


def test_cause_without_waiting_is_too_much_work() -> None:
    order = [op("W1", 1, "C1", 0, 20), op("W1", 2, "H1", 20, 30)]
    assert late_cause(order, order, VIEW, NOW) == "2 days of work left, too little time before the due date"
