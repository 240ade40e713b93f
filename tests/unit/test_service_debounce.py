"""Debounce: a burst of triggers becomes one replan after quiet, or after the maximum wait."""

from __future__ import annotations

import pytest

from rescheduler.service.debounce import Debouncer

pytestmark = pytest.mark.unit


def test_fires_after_quiet_period() -> None:
    d = Debouncer(quiet_s=2.0, max_s=10.0)
    assert not d.due(0.0) and d.wait_s(0.0) is None
    d.add("H2 FAULT", 100.0)
    d.add("bottleneck HEAD", 101.5)
    assert not d.due(103.0)
    assert d.wait_s(103.0) == pytest.approx(0.5)
    assert d.due(103.5)
    assert d.take() == ["H2 FAULT", "bottleneck HEAD"]
    assert not d.pending and not d.due(200.0)


def test_continuous_burst_fires_at_max_wait() -> None:
    d = Debouncer(quiet_s=2.0, max_s=10.0)
    t = 0.0
    while not d.due(t):
        d.add("order O1", t)
        t += 1.0
    # Triggers every second never leave 2 s of quiet: the max wait decides.
    assert t == pytest.approx(10.0)


def test_repeated_reason_is_kept_once() -> None:
    d = Debouncer(quiet_s=1.0, max_s=5.0)
    for t in (0.0, 0.2, 0.4):
        d.add("order O1", t)
    d.add("order O2", 0.5)
    assert d.take() == ["order O1", "order O2"]


def test_rejects_max_below_quiet() -> None:
    with pytest.raises(ValueError):
        Debouncer(quiet_s=5.0, max_s=1.0)
