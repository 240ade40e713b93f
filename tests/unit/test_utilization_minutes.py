"""Golden tests of the minute-bucket and OEE math (no bytewax)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shopfloor.events import MachineState
from streams.utilization.minutes import (
    Carry,
    CounterReading,
    StateChange,
    compute_minute,
    counter_delta,
    oee_figures,
    split_interval,
)

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
R, F, S, IDLE = MachineState.RUNNING, MachineState.FAULT, MachineState.SETUP, MachineState.IDLE


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def state(seconds: float, s: MachineState, eid: str) -> StateChange:
    return StateChange(at(seconds), s, eid)


def count(seconds: float, good: int, scrap: int, eid: str) -> CounterReading:
    return CounterReading(at(seconds), good, scrap, eid)


WHOLE_MINUTE = [(T0, T0 + timedelta(minutes=1))]


def test_an_interval_is_split_exactly_across_bucket_edges() -> None:
    assert split_interval(at(40), at(130)) == [(at(0), 20.0), (at(60), 60.0), (at(120), 10.0)]
    assert split_interval(at(0), at(60)) == [(at(0), 60.0)]
    assert split_interval(at(5), at(5)) == []


def test_a_fault_across_three_minutes_gives_20_60_10_through_the_carry() -> None:
    first, carry = compute_minute("M1", at(0), Carry(R), [state(40, F, "a")], WHOLE_MINUTE, 1.0)
    second, carry = compute_minute("M1", at(60), carry, [], [(at(60), at(120))], 1.0)
    third, _ = compute_minute("M1", at(120), carry, [state(130, R, "b")], [(at(120), at(180))], 1.0)
    assert (first.state_s(F), second.state_s(F), third.state_s(F)) == (20.0, 60.0, 10.0)
    assert (first.state_s(R), second.state_s(R), third.state_s(R)) == (40.0, 0.0, 50.0)


def test_every_running_segment_of_a_minute_counts_not_only_the_last() -> None:
    # RUNNING 0-10, FAULT 10-20, RUNNING 20-35, SETUP 35-45, RUNNING 45-60: 40 s of run time.
    samples = [state(10, F, "a"), state(20, R, "b"), state(35, S, "c"), state(45, R, "d"), count(59, 130, 10, "e")]
    row, carry = compute_minute("M1", T0, Carry(R, (100, 6)), samples, WHOLE_MINUTE, 0.25)
    assert row.state_s(R) == 40.0
    assert row.state_s(F) == 10.0
    assert row.state_s(S) == 10.0
    assert (row.good, row.scrap) == (30, 4)
    assert row.planned_s == 60.0
    assert row.availability == pytest.approx(40 / 60)
    assert row.performance == pytest.approx(0.25 * 34 / 40)
    assert row.quality == pytest.approx(30 / 34)
    assert row.oee == pytest.approx((40 / 60) * (0.25 * 34 / 40) * (30 / 34))
    assert carry == Carry(R, (130, 10))


def test_setup_is_an_availability_loss() -> None:
    row, _ = compute_minute("M1", T0, Carry(S), [state(30, R, "a")], WHOLE_MINUTE, 1.0)
    assert row.state_s(S) == 30.0
    assert row.availability == 0.5


def test_time_outside_shifts_is_not_planned_and_not_a_loss() -> None:
    # Shift ends at 10:00:30: the idle half minute after it costs nothing.
    row, _ = compute_minute("M1", T0, Carry(R), [state(30, IDLE, "a")], [(at(0), at(30))], 1.0)
    assert row.planned_s == 30.0
    assert row.availability == 1.0
    # No shift at all: availability and OEE are undefined, seconds are still recorded.
    off, _ = compute_minute("M1", T0, Carry(IDLE), [], [], 1.0)
    assert (off.planned_s, off.availability, off.oee, off.state_s(IDLE)) == (0.0, None, None, 60.0)


def test_planned_maintenance_is_not_planned_time() -> None:
    # Maintenance 10:00:20-10:00:50 cut out of the shift: 30 s planned, all of it running.
    planned = [(at(0), at(20)), (at(50), at(60))]
    row, _ = compute_minute(
        "M1", T0, Carry(R), [state(20, MachineState.MAINTENANCE, "a"), state(50, R, "b")], planned, 1.0
    )
    assert row.planned_s == 30.0
    assert row.run_planned_s == 30.0
    assert row.availability == 1.0


def test_performance_over_one_is_recorded_and_flagged_never_clamped() -> None:
    row, _ = compute_minute("M1", T0, Carry(R, (0, 0)), [count(30, 100, 0, "a")], WHOLE_MINUTE, 1.0)
    assert row.performance == pytest.approx(100 / 60)
    assert row.performance_over_ideal is True
    assert row.oee == pytest.approx(100 / 60)


def test_counters_reset_is_detected_per_counter() -> None:
    assert counter_delta(None, 500, 3) == (0, 0)  # first reading: a baseline
    assert counter_delta((500, 3), 520, 4) == (20, 1)
    assert counter_delta((520, 4), 7, 0) == (7, 0)  # PLC restart: counting from zero again
    assert counter_delta((520, 4), 530, 1) == (10, 1)  # scrap reset alone


def test_a_reset_inside_a_minute_counts_pieces_before_and_after_it() -> None:
    samples = [count(10, 120, 2, "a"), count(20, 5, 0, "b"), count(50, 15, 1, "c")]
    row, carry = compute_minute("M1", T0, Carry(R, (100, 2)), samples, WHOLE_MINUTE, 0.5)
    assert (row.good, row.scrap) == (20 + 5 + 10, 0 + 0 + 1)
    assert carry.counters == (15, 1)


def test_duplicates_and_out_of_order_samples_within_a_minute() -> None:
    ordered = [state(10, F, "a"), state(40, R, "b"), count(50, 10, 0, "c")]
    shuffled = [ordered[2], ordered[1], ordered[0], ordered[1], ordered[2]]
    a, _ = compute_minute("M1", T0, Carry(R, (0, 0)), ordered, WHOLE_MINUTE, 1.0)
    b, _ = compute_minute("M1", T0, Carry(R, (0, 0)), shuffled, WHOLE_MINUTE, 1.0)
    assert a == b
    assert (a.state_s(R), a.state_s(F), a.good) == (30.0, 30.0, 10)


def test_unknown_state_before_the_first_report_and_unknown_machine() -> None:
    row, carry = compute_minute("M9", T0, Carry(), [state(45, R, "a")], WHOLE_MINUTE, None)
    assert sum(row.seconds) == 15.0
    assert row.performance is None and row.oee is None
    assert carry.state is R


def test_oee_figures_definitions() -> None:
    assert oee_figures(0.0, 0.0, 60.0, 0.0, 0, 0) == (0.0, None, None, 0.0)  # down all planned minute
    assert oee_figures(30.0, 30.0, 60.0, 15.0, 9, 1) == pytest.approx((0.5, 0.5, 0.9, 0.225))
