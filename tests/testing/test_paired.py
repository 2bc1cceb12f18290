"""metrics.paired against brute-force references written here: EERs of explicitly expanded resamples, and
the McNemar p-value summed term by term from binomial coefficients."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from audiostress.metrics.bootstrap import resample_weights
from audiostress.metrics.paired import mcnemar, mcnemar_exact, paired_bootstrap_eer_diff, paired_bootstrap_rate_diff


def reference_eer(scores: np.ndarray, labels: np.ndarray) -> float:
    """EER by brute force in exact arithmetic: every distinct score (and +inf) as threshold, call spoof when
    score >= t; the operating point with minimal |FPR - FNR|, the highest such threshold on ties (the ASVspoof
    packages' scan order); EER = (FPR + FNR) / 2."""
    bona, spoof = scores[~labels], scores[labels]
    best: tuple[Fraction, Fraction] | None = None
    for t in [*np.unique(scores), np.inf]:
        fpr = Fraction(int((bona >= t).sum()), bona.size)
        fnr = Fraction(int((spoof < t).sum()), spoof.size)
        if best is None or abs(fpr - fnr) <= best[0]:
            best = (abs(fpr - fnr), (fpr + fnr) / 2)
    assert best is not None
    return float(best[1])


def reference_mcnemar(b: int, c: int) -> float:
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


@pytest.fixture
def pair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    labels = np.array([False] * 12 + [True] * 9)
    a = rng.standard_normal(21) + 1.5 * labels
    b = a + rng.standard_normal(21) * 0.8 - 0.6 * labels  # b is worse: spoof scores pulled down
    return np.round(a, 2), np.round(b, 2), labels  # rounding makes ties, which the EER must group


def test_paired_eer_diff_matches_expanded_resamples(pair):
    a, b, y = pair
    out = paired_bootstrap_eer_diff(a, b, y, n=200, seed=5)
    assert out.point == pytest.approx(reference_eer(b, y) - reference_eer(a, y), abs=1e-12)
    weights = resample_weights(y, n=200, seed=5)
    diffs = []
    for row in weights:
        idx = np.repeat(np.arange(y.size), row)
        assert int((~y[idx]).sum()) == 12 and int(y[idx].sum()) == 9  # stratified by label
        diffs.append(reference_eer(b[idx], y[idx]) - reference_eer(a[idx], y[idx]))
    lo, hi = np.quantile(diffs, [0.025, 0.975])
    assert out.ci95 == pytest.approx((lo, hi), abs=1e-12)
    assert out.n == 21


def test_unchanged_scores_give_zero_change(pair):
    a, _, y = pair
    out = paired_bootstrap_eer_diff(a, a.copy(), y, n=100, seed=0)
    assert out.point == 0.0 and out.ci95 == (0.0, 0.0)


def test_rate_diff_matches_expanded_resamples(pair):
    a, b, y = pair
    err_a, err_b = (a >= 0.7) != y, (b >= 0.7) != y
    out = paired_bootstrap_rate_diff(err_a, err_b, y, spoof=True, n=150, seed=2)
    assert out.point == pytest.approx(err_b[y].mean() - err_a[y].mean())
    weights = resample_weights(y, n=150, seed=2)
    ref = [err_b[np.repeat(np.arange(21), w)][y[np.repeat(np.arange(21), w)]].mean()
           - err_a[np.repeat(np.arange(21), w)][y[np.repeat(np.arange(21), w)]].mean() for w in weights]  # fmt: skip
    assert out.ci95 == pytest.approx(tuple(np.quantile(ref, [0.025, 0.975])), abs=1e-12)
    assert out.n == 9


@pytest.mark.parametrize(("b", "c"), [(0, 0), (0, 1), (1, 9), (5, 5), (3, 12), (20, 31), (0, 40)])
def test_mcnemar_exact_matches_binomial_sum(b, c):
    assert mcnemar_exact(b, c) == pytest.approx(reference_mcnemar(b, c), rel=1e-12)
    assert mcnemar_exact(b, c) == mcnemar_exact(c, b)


def test_mcnemar_counts_discordant_pairs():
    right_a = np.array([1, 1, 1, 0, 0, 1, 1, 0], dtype=bool)
    right_b = np.array([1, 0, 0, 0, 1, 0, 1, 0], dtype=bool)
    out = mcnemar(right_a, right_b)
    assert (out.b, out.c) == (3, 1)
    assert out.p_value == pytest.approx(reference_mcnemar(3, 1))


def test_bad_counts_name_the_argument():
    with pytest.raises(ValueError, match="`b` a count"):
        mcnemar_exact(-1, 2)
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap_eer_diff([0.1, 0.2], [0.1], [0, 1])
