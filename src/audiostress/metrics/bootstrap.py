"""Clip-level bootstrap confidence intervals for the EER and ΔEER.

Resampling is **stratified**: each resample draws ``n_bonafide`` bona fide clips
with replacement from the bona fide clips and ``n_spoof`` spoof clips from the
spoof clips, so both classes are always present and every resample has the
class sizes of the data. A resample is a matrix of per-clip multiplicities; the
scores are sorted once and every resample's EER is computed from weighted
cumulative counts on that one sort (vectorised over resamples), with exactly the
EER definition of :func:`audiostress.metrics.functional.compute_eer`.

ΔEER is **paired**: the same resampled clips (the same multiplicities) are used
for the clean and the corrupted scores, and ``Δ = EER_cell - EER_clean`` per
resample. The interval is the percentile interval of the resampled statistic.

Randomness comes only from ``numpy.random.default_rng(seed)``; the draws depend
only on the seed, the number of resamples and the labels (in order), so
:func:`bootstrap_eer_ci` on the cell scores and :func:`bootstrap_delta_eer_ci`
with the same seed use the very same resamples.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._curve import as_labels, as_scores_labels, eer_from_counts, group_scores, require_both_classes

__all__ = [
    "bootstrap_delta_eer_ci",
    "bootstrap_eer_ci",
    "bootstrap_eers",
    "percentile_interval",
    "resample_weights",
    "weighted_eers",
    "weighted_means",
]

#: Resamples processed at once: bounds memory at ~CHUNK x N x 8 bytes per array.
_CHUNK = 256
#: Spoof weights live in the high bits of one int64, bona fide in the low 32 bits.
_PACK_SHIFT = 32
_LOW_MASK = (1 << _PACK_SHIFT) - 1
_PACK_LIMIT = 1 << 31


def _check(n: int, level: float, fn: str) -> None:
    if int(n) != n or n < 1:
        raise ValueError(f"{fn}: expected `n` >= 1 resamples, got {n}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"{fn}: expected `level` in (0, 1), got {level}")


def _class_counts(rng: np.random.Generator, n: int, members: np.ndarray, size: int) -> np.ndarray:
    """Multiplicities [n, size] from ``n`` draws of ``members.size`` items with replacement."""
    k = members.size
    draws = rng.integers(0, k, size=(n, k))
    draws += (np.arange(n) * k)[:, None]
    counts = np.bincount(draws.ravel(), minlength=n * k).reshape(n, k)
    out = np.zeros((n, size), dtype=np.int64)
    out[:, members] = counts
    return out


def resample_weights(labels: ArrayLike, *, n: int = 1000, seed: int = 0) -> np.ndarray:
    """Stratified resamples as per-clip multiplicities ``[n, N]`` (int64).

    Row ``b`` holds how often each clip is drawn in resample ``b``; each row draws
    ``n_bonafide`` bona fide and ``n_spoof`` spoof clips. Depends only on
    ``labels``, ``n`` and ``seed``.
    """
    _check(n, 0.5, "resample_weights")
    y = as_labels(labels, "resample_weights")
    require_both_classes(y, "resample_weights")
    rng = np.random.default_rng(seed)
    weights = _class_counts(rng, int(n), np.flatnonzero(~y), y.size)
    weights += _class_counts(rng, int(n), np.flatnonzero(y), y.size)
    return weights


def weighted_eers(scores: ArrayLike, labels: ArrayLike, weights: np.ndarray) -> np.ndarray:
    """EER of every resample (row of ``weights``), sorting ``scores`` only once.

    Bona fide and spoof weights are packed into one int64 (spoof in the high 32
    bits) so a single gather, group-sum and cumulative sum serve both classes.
    """
    s, y = as_scores_labels(scores, labels, "weighted_eers")
    n_bona, n_spoof = require_both_classes(y, "weighted_eers")
    if weights.ndim != 2 or weights.shape[1] != s.size:
        raise ValueError(f"weighted_eers: expected weights [n, {s.size}], got {weights.shape}")
    if s.size >= _PACK_LIMIT:
        raise ValueError(f"weighted_eers: supports fewer than {_PACK_LIMIT} clips, got {s.size}")
    groups = group_scores(s)
    pack = np.where(y, np.int64(1) << _PACK_SHIFT, np.int64(1))[groups.order]
    eers = np.empty(weights.shape[0], dtype=np.float64)
    for lo in range(0, weights.shape[0], _CHUNK):
        w = weights[lo : lo + _CHUNK, groups.order] * pack
        per_group = np.add.reduceat(w, groups.starts, axis=1)
        below = np.zeros((w.shape[0], groups.starts.size + 1), dtype=np.int64)
        np.cumsum(per_group, axis=1, out=below[:, 1:])
        bona_below = below & _LOW_MASK
        spoof_below = below >> _PACK_SHIFT
        eers[lo : lo + _CHUNK], _ = eer_from_counts(bona_below, spoof_below, n_bona, n_spoof)
    return eers


def weighted_means(values: ArrayLike, weights: np.ndarray) -> np.ndarray:
    """Mean of per-clip ``values`` in every resample (row of ``weights``), ``[n]``.

    Reuses the EER's resamples for a per-clip statistic such as ``|Δp|`` or a flip
    indicator: resample ``b``'s mean is ``weights[b] @ values / weights[b].sum()``.
    """
    v = np.asarray(values, dtype=np.float64)
    if weights.ndim != 2 or v.ndim != 1 or weights.shape[1] != v.size:
        raise ValueError(f"weighted_means: expected values [N] and weights [n, N], got {v.shape} and {weights.shape}")
    totals = weights.sum(axis=1)
    if (totals <= 0).any():
        raise ValueError("weighted_means: every resample (row of `weights`) must draw at least one clip")
    # einsum's own loop, not BLAS: a BLAS call leaves its thread pool spinning, which slows the EER work after it.
    return np.einsum("ij,j->i", weights, v) / totals


def bootstrap_eers(
    score_sets: tuple[ArrayLike, ...], labels: ArrayLike, *, n: int = 1000, seed: int = 0
) -> list[np.ndarray]:
    """EER of each score set on the same ``n`` stratified resamples of the clips.

    ``score_sets`` are scores of the same clips (same order) under different
    conditions; returns one ``[n]`` array of resampled EERs per set.
    """
    if not score_sets:
        raise ValueError("bootstrap_eers: expected at least one score set")
    weights = resample_weights(labels, n=n, seed=seed)
    return [weighted_eers(s, labels, weights) for s in score_sets]


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Central ``level`` percentile interval of bootstrap samples."""
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(samples, [tail, 1.0 - tail])
    return float(lo), float(hi)


def bootstrap_eer_ci(
    scores: ArrayLike, labels: ArrayLike, *, n: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval ``(lo, hi)`` of the EER (stratified, clip-level)."""
    _check(n, level, "bootstrap_eer_ci")
    (eers,) = bootstrap_eers((scores,), labels, n=n, seed=seed)
    return percentile_interval(eers, level)


def bootstrap_delta_eer_ci(
    clean_scores: ArrayLike,
    cell_scores: ArrayLike,
    labels: ArrayLike,
    *,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Paired percentile bootstrap interval of ``EER(cell) - EER(clean)`` on the same clips."""
    _check(n, level, "bootstrap_delta_eer_ci")
    clean, cell = bootstrap_eers((clean_scores, cell_scores), labels, n=n, seed=seed)
    return percentile_interval(cell - clean, level)
