"""Paired comparisons of two runs on the same clips: a paired bootstrap of a change, and McNemar's test.

Both take per-clip arrays aligned clip by clip (the clips two runs share).

- :func:`paired_bootstrap_eer_diff`: ``EER(b) - EER(a)`` and its percentile
  interval, where every resample draws clips stratified by label (bona fide from
  the bona fide clips, spoof from the spoof clips, with replacement) and both EERs
  are computed on that same resample.
- :func:`paired_bootstrap_rate_diff`: the same for an error rate within one class
  (FPR on bona fide clips, FNR on spoof clips), from per-clip error flags.
- :func:`mcnemar_exact`: the exact two-sided binomial test on discordant pairs;
  :func:`mcnemar` counts them from per-clip correctness.

Randomness comes only from ``numpy.random.default_rng(seed)`` (through
:func:`audiostress.metrics.bootstrap.resample_weights`).

>>> mcnemar_exact(0, 0)
1.0
>>> round(mcnemar_exact(1, 9), 4)      # 2 * P(X <= 1), X ~ Binomial(10, 1/2)
0.0215
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._curve import as_labels, as_scores_labels
from .bootstrap import percentile_interval, resample_weights, weighted_eers
from .functional import compute_eer

__all__ = ["McNemar", "PairedDiff", "mcnemar", "mcnemar_exact", "paired_bootstrap_eer_diff", "paired_bootstrap_rate_diff"]


@dataclass(frozen=True)
class PairedDiff:
    """A paired change ``b - a``: the point value on the clips, its percentile interval, the clip count."""

    point: float
    ci95: tuple[float, float] | None
    n: int


@dataclass(frozen=True)
class McNemar:
    """Discordant pairs: ``b`` clips right in run a and wrong in run b, ``c`` the reverse; exact two-sided p."""

    b: int
    c: int
    p_value: float


def _check_pair(a: np.ndarray, b: np.ndarray, y: np.ndarray, fn: str) -> None:
    if a.shape != b.shape or a.shape != y.shape:
        raise ValueError(f"{fn}: expected equal-length arrays of one row per clip, got {a.shape}, {b.shape} and labels {y.shape}")


def paired_bootstrap_eer_diff(
    scores_a: ArrayLike, scores_b: ArrayLike, labels: ArrayLike, *, n: int = 1000, seed: int = 0, level: float = 0.95
) -> PairedDiff:
    """``EER(scores_b) - EER(scores_a)`` on the same clips, with a paired, label-stratified bootstrap interval.

    ``n=0`` gives the point value only (``ci95`` is ``None``).
    """
    a, y = as_scores_labels(scores_a, labels, "paired_bootstrap_eer_diff")
    b, _ = as_scores_labels(scores_b, labels, "paired_bootstrap_eer_diff")
    _check_pair(a, b, y, "paired_bootstrap_eer_diff")
    point = compute_eer(b, y)[0] - compute_eer(a, y)[0]
    if n == 0:
        return PairedDiff(float(point), None, int(y.size))
    weights = resample_weights(y, n=n, seed=seed)
    diffs = weighted_eers(b, y, weights) - weighted_eers(a, y, weights)
    return PairedDiff(float(point), percentile_interval(diffs, level), int(y.size))


def paired_bootstrap_rate_diff(
    errors_a: ArrayLike,
    errors_b: ArrayLike,
    labels: ArrayLike,
    *,
    spoof: bool,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> PairedDiff:
    """Change of an error rate within one class, ``rate(b) - rate(a)``, with a paired stratified bootstrap.

    ``errors_*``: per-clip flags (True = the run got that clip wrong). The rate is
    over the spoof clips (``spoof=True``: FNR) or the bona fide clips (FPR). The
    resamples are the same stratified draws as :func:`paired_bootstrap_eer_diff`'s.
    """
    y = as_labels(labels, "paired_bootstrap_rate_diff")
    ea = np.asarray(errors_a, dtype=bool)
    eb = np.asarray(errors_b, dtype=bool)
    _check_pair(ea, eb, y, "paired_bootstrap_rate_diff")
    member = y if spoof else ~y
    k = int(member.sum())
    if k == 0:
        raise ValueError(f"paired_bootstrap_rate_diff: no {'spoof' if spoof else 'bona fide'} clip to compute a rate on")
    diff = (eb & member).astype(np.float64) - (ea & member).astype(np.float64)
    point = float(diff.sum() / k)
    if n == 0:
        return PairedDiff(point, None, k)
    weights = resample_weights(y, n=n, seed=seed)
    # Stratified resamples keep each class's size, so every resample's denominator is k.
    samples = (weights @ diff) / k
    return PairedDiff(point, percentile_interval(samples, level), k)


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value: ``2 * P(X <= min(b, c))``, ``X ~ Binomial(b + c, 1/2)``, capped at 1."""
    for name, value in (("b", b), ("c", c)):
        if isinstance(value, bool) or int(value) != value or value < 0:
            raise ValueError(f"mcnemar_exact: expected `{name}` a count >= 0, got {value!r}")
    total = int(b) + int(c)
    if total == 0:
        return 1.0
    from scipy.stats import binom

    return float(min(1.0, 2.0 * binom.cdf(min(int(b), int(c)), total, 0.5)))


def mcnemar(correct_a: ArrayLike, correct_b: ArrayLike) -> McNemar:
    """McNemar's test from per-clip correctness of two runs on the same clips."""
    ra = np.asarray(correct_a, dtype=bool)
    rb = np.asarray(correct_b, dtype=bool)
    if ra.shape != rb.shape or ra.ndim != 1:
        raise ValueError(f"mcnemar: expected two equal-length 1-D arrays, got {ra.shape} and {rb.shape}")
    b = int((ra & ~rb).sum())
    c = int((~ra & rb).sum())
    return McNemar(b, c, mcnemar_exact(b, c))
