"""Plan diff: which operations moved machine or start between two plans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rescheduler.service.diff import plan_diff
from rescheduler.service.plan import PlannedOp

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def op(wo: str, seq: int, machine: str, start_h: float, dur_h: float = 1.0) -> PlannedOp:
    start = T0 + timedelta(hours=start_h)
    return PlannedOp(wo, seq, machine, start, start + timedelta(hours=dur_h))


def test_unchanged_plan_has_no_moves() -> None:
    plan = [op("W1", 1, "C1", 0), op("W1", 2, "H1", 1)]
    assert plan_diff(plan, list(plan)) == []


def test_machine_change_time_change_and_new_operation() -> None:
    previous = [op("W1", 1, "C1", 0), op("W1", 2, "H2", 1), op("W2", 1, "C1", 1), op("W3", 1, "C2", 0)]
    current = [
        op("W1", 1, "C1", 0),  # same
        op("W1", 2, "H1", 1),  # other machine, same time
        op("W2", 1, "C1", 5),  # later
        op("W4", 1, "C2", 2),  # new work order; W3 left the plan
    ]
    moves = {(m.work_order_id, m.operation_seq): m for m in plan_diff(previous, current)}
    assert set(moves) == {("W1", 2), ("W2", 1), ("W4", 1)}
    assert (moves["W1", 2].from_machine, moves["W1", 2].to_machine) == ("H2", "H1")
    assert moves["W2", 1].from_start == T0 + timedelta(hours=1)
    assert moves["W2", 1].to_start == T0 + timedelta(hours=5)
    assert moves["W4", 1].from_machine is None and moves["W4", 1].from_start is None


def test_sub_minute_jitter_is_not_a_move() -> None:
    previous = [op("W1", 1, "C1", 0)]
    current = [op("W1", 1, "C1", 20 / 3600)]
    assert plan_diff(previous, current) == []
