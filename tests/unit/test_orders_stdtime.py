"""The robust standard-time estimate: median after MAD rejection."""

from __future__ import annotations

import pytest

from streams.orders.stdtime import robust_estimate

pytestmark = pytest.mark.unit


def test_outlier_is_rejected_and_median_kept() -> None:
    est = robust_estimate([0.50, 0.52, 0.48, 0.51, 0.49, 9.0])
    assert est.rejected == 1 and est.samples == 5
    assert est.unit_min == pytest.approx(0.50)


def test_a_mean_would_be_pulled_by_the_outlier_the_estimate_is_not() -> None:
    values = [1.0, 1.1, 0.9, 1.0, 60.0]  # a finish scanned an hour late
    est = robust_estimate(values)
    assert sum(values) / len(values) > 10
    assert est.unit_min == pytest.approx(1.0)


def test_identical_samples_and_single_sample() -> None:
    assert robust_estimate([2.0, 2.0, 2.0, 7.0]).rejected == 1
    one = robust_estimate([3.0])
    assert (one.unit_min, one.samples, one.rejected) == (3.0, 1, 0)
    with pytest.raises(ValueError):
        robust_estimate([])
