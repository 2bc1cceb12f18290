"""Bootstrap CIs: the weighted EER core against explicit repetition, determinism, coverage."""

from __future__ import annotations

import numpy as np
import pytest

from audiostress.metrics.bootstrap import (
    bootstrap_delta_eer_ci,
    bootstrap_eer_ci,
    resample_weights,
    weighted_eers,
)
from audiostress.metrics.functional import compute_eer

#: Both sides compute the same exact-count EER; only the final division rounds.
EXACT_TOL = 1e-12


def _data(n: int, seed: int, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.45
    y[:2] = [False, True]
    s = rng.normal(size=n) + 1.2 * y
    return (np.round(s, 1) if ties else s), y


@pytest.mark.parametrize("ties", [False, True])
def test_weighted_eers_equal_eer_of_explicitly_repeated_clips(ties: bool) -> None:
    scores, labels = _data(120, 3, ties)
    weights = resample_weights(labels, n=40, seed=9)
    eers = weighted_eers(scores, labels, weights)
    for b in range(weights.shape[0]):
        rep = np.repeat(np.arange(scores.size), weights[b])
        assert eers[b] == pytest.approx(compute_eer(scores[rep], labels[rep])[0], abs=EXACT_TOL)


def test_resamples_are_stratified() -> None:
    _, labels = _data(101, 4)
    w = resample_weights(labels, n=50, seed=0)
    assert np.all(w[:, ~labels].sum(axis=1) == (~labels).sum())
    assert np.all(w[:, labels].sum(axis=1) == labels.sum())
    assert np.all(w >= 0)


def test_ci_is_deterministic_by_seed() -> None:
    scores, labels = _data(300, 5)
    a = bootstrap_eer_ci(scores, labels, n=200, seed=11)
    assert a == bootstrap_eer_ci(scores, labels, n=200, seed=11)
    assert a != bootstrap_eer_ci(scores, labels, n=200, seed=12)


def test_ci_contains_point_estimate_and_shrinks_with_n() -> None:
    scores, labels = _data(4000, 6)
    eer = compute_eer(scores, labels)[0]
    lo, hi = bootstrap_eer_ci(scores, labels, n=300, seed=0)
    assert lo < eer < hi
    # binomial-scale sanity: sd of an EER near 0.27 from ~2000 per class is ~0.01
    assert 0.01 < hi - lo < 0.06
    small_scores, small_labels = _data(400, 6)
    s_lo, s_hi = bootstrap_eer_ci(small_scores, small_labels, n=300, seed=0)
    assert s_hi - s_lo > 1.5 * (hi - lo)


def test_delta_ci_is_paired() -> None:
    scores, labels = _data(600, 7)
    # identical conditions: every resample's delta is exactly 0
    assert bootstrap_delta_eer_ci(scores, scores, labels, n=100, seed=1) == (0.0, 0.0)
    # a corruption pulling spoof scores down raises the EER; the CI excludes 0 and holds the point delta
    rng = np.random.default_rng(8)
    cell = scores - 0.8 * labels + 0.05 * rng.normal(size=scores.size)
    delta = compute_eer(cell, labels)[0] - compute_eer(scores, labels)[0]
    lo, hi = bootstrap_delta_eer_ci(scores, cell, labels, n=300, seed=1)
    assert 0.0 < lo < delta < hi


def test_delta_ci_uses_same_resamples_as_eer_ci() -> None:
    scores, labels = _data(200, 9)
    cell = scores + 0.3
    # shifting every score leaves every resample's EER unchanged
    assert bootstrap_delta_eer_ci(scores, cell, labels, n=100, seed=2) == (0.0, 0.0)


@pytest.mark.parametrize("kwargs,match", [({"n": 0}, "resamples"), ({"level": 1.0}, "level")])
def test_bad_arguments(kwargs, match) -> None:
    scores, labels = _data(50, 1)
    with pytest.raises(ValueError, match=match):
        bootstrap_eer_ci(scores, labels, **kwargs)
