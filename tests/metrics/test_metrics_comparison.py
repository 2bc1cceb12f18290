"""Per-clip comparisons and the corruption-error aggregate, against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from audiostress.metrics.functional import codec_pair_delta, corruption_error, drift, flip_rate

#: Hand computations below are exact up to float rounding of a few additions.
FLOAT_TOL = 1e-12


def test_flip_rate_counts_decision_changes_at_threshold() -> None:
    clean = np.array([0.1, 0.5, 0.9, 0.4, 0.6])
    cell = np.array([0.6, 0.5, 0.2, 0.3, 0.7])
    # decisions (>= 0.5): clean F T T F T ; cell T T F F T -> flips at clips 0 and 2
    assert flip_rate(clean, cell, 0.5) == pytest.approx(2 / 5, abs=FLOAT_TOL)
    assert flip_rate(clean, clean, 0.5) == 0.0
    assert math.isnan(flip_rate([], [], 0.5))


def test_drift_abs_and_signed() -> None:
    clean = np.array([0.2, 0.8, 0.5])
    cell = np.array([0.5, 0.6, 0.5])
    mean_abs, mean_signed = drift(clean, cell)
    assert mean_abs == pytest.approx((0.3 + 0.2 + 0.0) / 3, abs=FLOAT_TOL)
    assert mean_signed == pytest.approx((0.3 - 0.2 + 0.0) / 3, abs=FLOAT_TOL)


def test_drift_rejects_mismatched_or_non_finite() -> None:
    with pytest.raises(ValueError, match="equal length"):
        drift([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="finite"):
        drift([0.1, np.nan], [0.1, 0.2])


def test_codec_pair_delta_per_clip() -> None:
    p = np.array([[0.9, 0.1, 0.5, 0.4], [0.3, 0.3, 0.3, 0.3], [0.0, 1.0, 0.2, 0.7]])
    assert codec_pair_delta(p) == pytest.approx([0.8, 0.0, 1.0], abs=FLOAT_TOL)
    with pytest.raises(ValueError, match="finite"):
        codec_pair_delta([[0.1, np.nan]])


def test_corruption_error_formula() -> None:
    mine = {1: 0.10, 2: 0.20, 3: 0.30}
    ref = {1: 0.20, 2: 0.30, 3: 0.50}
    ce, rel = corruption_error(mine, ref, 0.05, 0.10)
    assert ce == pytest.approx(0.6 / 1.0, abs=FLOAT_TOL)
    # sum_s (E_s - E_clean) / sum_s (E_ref_s - E_ref_clean)
    assert rel == pytest.approx((0.05 + 0.15 + 0.25) / (0.10 + 0.20 + 0.40), abs=FLOAT_TOL)
    # sequences are severities 1.. in order
    assert corruption_error([0.1, 0.2, 0.3], [0.2, 0.3, 0.5]) == pytest.approx((0.6, None))


def test_relative_ce_is_zero_when_corruption_changes_nothing() -> None:
    _, rel = corruption_error([0.1] * 5, [0.2, 0.3, 0.4, 0.5, 0.6], 0.1, 0.1)
    assert rel == 0.0


def test_corruption_error_degenerate_and_mismatch() -> None:
    ce, rel = corruption_error([0.1], [0.0], 0.0, 0.0)
    assert math.isnan(ce) and math.isnan(rel)
    with pytest.raises(ValueError, match="severities differ"):
        corruption_error({1: 0.1, 2: 0.2}, {1: 0.1})
