"""Workcenter load against calendar capacity, and bottleneck detection with hysteresis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shopfloor.plant import load_plant
from shopfloor.settings import PROJECT_ROOT
from streams.bottleneck import BottleneckDetector, Cleared, Detected, DetectorConfig
from streams.orders.load import HorizonLoad, Queue, _full_for, compute_loads

pytestmark = pytest.mark.unit

PLANT = load_plant(PROJECT_ROOT / "infra" / "plants" / "demo.yaml")
# Tuesday 3 March 2026, 10:00 in Shanghai: the three shifts run Monday to Saturday.
NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


def head(queued: float, down: tuple[str, ...] = (), capacity: float = 100.0) -> HorizonLoad:
    return HorizonLoad("WC-HEAD", "3d", NOW + timedelta(days=3), queued, capacity, queued / 8, down)


def test_capacity_counts_working_machines_and_full_for_walks_the_calendar() -> None:
    loads = {(x.workcenter_id, x.horizon): x for x in compute_loads(PLANT, {}, {}, NOW)}
    assert loads[("WC-HEAD", "3d")].capacity_hours == pytest.approx(8 * 72)
    queue = {"WC-HEAD": Queue("WC-HEAD", 8 * 24.0, 3, ("SO-1",))}
    broken = {(x.workcenter_id, x.horizon): x for x in compute_loads(PLANT, queue, {"H2": "FAULT"}, NOW)}
    three_days = broken[("WC-HEAD", "3d")]
    assert three_days.capacity_hours == pytest.approx(7 * 72)
    assert three_days.machines_down == ("H2",)
    # 192 machine-hours on 7 presses working round the clock: 27.4 hours.
    assert three_days.full_for_hours == pytest.approx(192 / 7)
    assert broken[("WC-HEAD", "shift")].horizon_end == datetime(2026, 3, 3, 6, 0, tzinfo=UTC)


def test_full_for_skips_time_without_shifts() -> None:
    intervals = [(NOW, NOW + timedelta(hours=2)), (NOW + timedelta(hours=10), NOW + timedelta(hours=20))]
    assert _full_for(intervals, NOW, 3.0) == pytest.approx(11.0)
    assert _full_for(intervals, NOW, 0.0) == 0.0
    assert _full_for([], NOW, 1.0) == 30 * 24


def test_overload_detected_once_and_cleared_only_below_hysteresis_after_hold() -> None:
    detector = BottleneckDetector(DetectorConfig(clear_hold_s=30), frozenset({"WC-HEAD"}))
    orders = {"WC-HEAD": ("SO-1", "SO-2")}
    [first] = detector.step([head(120)], frozenset(), orders, NOW)
    assert isinstance(first, Detected) and first.orders == ("SO-1", "SO-2") and first.machine_id is None
    # Hovering between the exit (90 %) and entry (100 %) levels: nothing, however often.
    for i in range(10):
        assert detector.step([head(95 + (i % 2) * 10)], frozenset(), orders, NOW + timedelta(seconds=i)) == []
    # Below the exit level, but not for long enough, then back up: still nothing.
    assert detector.step([head(80)], frozenset(), orders, NOW + timedelta(seconds=20)) == []
    assert detector.step([head(95)], frozenset(), orders, NOW + timedelta(seconds=40)) == []
    assert detector.step([head(80)], frozenset(), orders, NOW + timedelta(seconds=50)) == []
    [cleared] = detector.step([head(80)], frozenset(), orders, NOW + timedelta(seconds=80))
    assert isinstance(cleared, Cleared)
    assert detector.active == {}


def test_fault_on_bottleneck_workcenter_with_work_queued() -> None:
    detector = BottleneckDetector(DetectorConfig(clear_hold_s=0), frozenset({"WC-HEAD"}))
    assert detector.step([head(0, ("H2",))], frozenset({"H2"}), {}, NOW) == []  # nothing queued
    [event] = detector.step([head(10, ("H2",))], frozenset({"H2"}), {}, NOW)
    assert isinstance(event, Detected) and event.machine_id == "H2" and "H2 in FAULT" in event.cause
    assert detector.step([head(10, ("H2",))], frozenset({"H2"}), {}, NOW) == []
    [cleared] = detector.step([head(10)], frozenset(), {}, NOW + timedelta(seconds=1))
    assert isinstance(cleared, Cleared) and cleared.machine_id == "H2"


def test_restore_keeps_an_announced_bottleneck_quiet() -> None:
    detector = BottleneckDetector(DetectorConfig(), frozenset({"WC-HEAD"}))
    detector.restore({"WC-HEAD": None})
    assert detector.step([head(150)], frozenset(), {}, NOW) == []
    with pytest.raises(ValueError):
        DetectorConfig(enter_ratio=0.9, exit_ratio=0.9)
