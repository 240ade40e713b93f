"""The watchdog's judgement: stalled only when events wait and committed offsets stand still long enough."""

from __future__ import annotations

import pytest

from streams.orders.watchdog import Progress, StallDetector

pytestmark = pytest.mark.unit


def test_waiting_events_with_frozen_offsets_for_the_stall_time_is_a_stall() -> None:
    detector = StallDetector(stall_s=60)
    frozen = Progress(lag=500, committed={("shopfloor.mes", 0): 100})
    assert not detector.observe(frozen, 0)
    assert not detector.observe(frozen, 30)
    assert not detector.observe(frozen, 59)
    assert detector.observe(frozen, 61)


def test_moving_offsets_or_no_lag_is_healthy() -> None:
    detector = StallDetector(stall_s=10)
    for t in range(0, 100, 5):  # busy: lag all along, but the group commits
        assert not detector.observe(Progress(lag=1000, committed={("shopfloor.mes", 0): t}), t)
    idle = Progress(lag=0, committed={("shopfloor.mes", 0): 100})
    for t in range(100, 200, 5):  # idle: nothing to do, nothing committed: not a stall
        assert not detector.observe(idle, t)
    # Work arrives and is not taken up: the clock starts then, not when the offsets last moved.
    waiting = Progress(lag=3, committed={("shopfloor.mes", 0): 100})
    assert not detector.observe(waiting, 200)
    assert not detector.observe(waiting, 209)
    assert detector.observe(waiting, 210)
