"""Cause text of a late order, computed from the plan."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from rescheduler.service.cause import (
    PlantView,
    human_duration,
    late_cause,
    longest_wait,
    machines_load,
    merge_intervals,
)
from rescheduler.service.plan import PlannedOp

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
H = timedelta(hours=1)

VIEW = PlantView(
    machine_workcenter={"C1": "CUT", "H1": "HEAD", "H2": "HEAD", "R1": "ROLL"},
    machine_names={"C1": "Saw C1", "H1": "Heading press H1", "H2": "Heading press H2", "R1": "Roller R1"},
    workcenter_names={"CUT": "Cutting", "HEAD": "Cold heading", "ROLL": "Thread rolling"},
    eligible={("W1", 2): ["H1", "H2"], ("X", 1): ["H1", "H2"], ("Y", 1): ["H1", "H2"]},
)


def op(wo: str, seq: int, machine: str, start_h: float, dur_h: float) -> PlannedOp:
    start = NOW + start_h * H
    return PlannedOp(wo, seq, machine, start, start + dur_h * H)


def test_human_duration() -> None:
    assert human_duration(72 * H) == "3 days"
    assert human_duration(5.4 * H) == "5 hours"
    assert human_duration(1 * H) == "1 hour"
    assert human_duration(timedelta(minutes=20)) == "20 min"


def test_merge_intervals() -> None:
    assert merge_intervals([(NOW + 5 * H, NOW + 6 * H), (NOW, NOW + 2 * H), (NOW + H, NOW + 3 * H)]) == [
        (NOW, NOW + 3 * H),
        (NOW + 5 * H, NOW + 6 * H),
    ]


def test_longest_wait_finds_the_operation_that_waited() -> None:
    # W1: cut 0-2, then heading only at 72 h (queued 70 h), then rolling right after.
    order = [op("W1", 1, "C1", 0, 2), op("W1", 2, "H1", 72, 3), op("W1", 3, "R1", 75, 1)]
    found = longest_wait(order, NOW, {}, VIEW)
    assert found is not None
    assert found[0].key == ("W1", 2)
    assert found[1] == 70 * H


def test_waiting_over_non_working_time_is_not_queueing() -> None:
    # Heading at 72 h, but H1 does not work over [10 h, 60 h): only 20 h of the 70 h are queueing.
    view = replace(VIEW, unavailable={"H1": [(NOW + 10 * H, NOW + 60 * H)]})
    order = [op("W1", 1, "C1", 0, 2), op("W1", 2, "H1", 72, 3)]
    found = longest_wait(order, NOW, {}, view)
    assert found is not None and found[1] == 20 * H


def test_machines_load_is_booked_share_of_working_time() -> None:
    # Two machines over 10 h, H2 off for 2 h: 18 machine-hours available; 10 h + 5 h booked = 83%.
    view = replace(VIEW, unavailable={"H2": [(NOW, NOW + 2 * H)]})
    plan = [op("X", 1, "H1", 0, 10), op("Y", 1, "H2", 5, 8)]
    assert machines_load(plan, ["H1", "H2"], NOW, NOW + 10 * H, view) == pytest.approx(15 / 18)


def test_cause_names_broken_machine_and_full_workcenter() -> None:
    # H2 is in FAULT; W1 heads on H1 only at 72 h because H1 is busy with X until then.
    others = [op("X", 1, "H1", 0, 72), op("Y", 1, "H2", 0, 60)]
    order = [op("W1", 1, "C1", 0, 2), op("W1", 2, "H1", 72, 3), op("W1", 3, "R1", 75, 1)]
    view = replace(VIEW, down={"H2": "FAULT"})
    text = late_cause(order, others + order, view, NOW)
    # Load of the eligible presses over the 72 h before the op: (72 + 60) / (2 * 72) = 92%; queued 70 h.
    assert text == (
        "Heading press H2 in FAULT; Cold heading full for 3 days (load 92%); "
        "waits 3 days for Heading press H1, Heading press H2"
    )


def test_cause_prefers_bottleneck_full_for_from_streams() -> None:
    order = [op("W1", 2, "H1", 10, 1)]
    view = replace(VIEW, bottleneck_full_for_h={"HEAD": 48.0})
    assert late_cause(order, order, view, NOW).startswith("Cold heading full for 2 days")


def test_cause_on_idle_machines_is_not_full() -> None:
    # W1 queues 10 h for H1 although nothing else runs there: no slot, not "full".
    order = [op("W1", 2, "H1", 10, 1)]
    assert late_cause(order, order, VIEW, NOW) == (
        "no slot on Cold heading for 10 hours (load 0%); waits 10 hours for Heading press H1, Heading press H2"
    )


def test_cause_without_waiting_is_too_much_work() -> None:
    order = [op("W1", 1, "C1", 0, 20), op("W1", 2, "H1", 20, 30)]
    assert late_cause(order, order, VIEW, NOW) == "2 days of work left, too little time before the due date"
