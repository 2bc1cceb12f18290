"""Private core shared by the threshold metrics and the bootstrap.

Everything here works on *counts*: the scores are sorted once, grouped into
distinct values (ties grouped), and each operating point is described by integer
counts of bona fide and spoof clips below it. Integer counts keep the EER's
``argmin |FPR - FNR|`` exact, so ties between operating points are broken the
same way on every platform and by any independent reference that uses exact
arithmetic. Weighted counts (one row per bootstrap resample) reuse the same sort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


def as_scores_labels(scores: ArrayLike, labels: ArrayLike, fn: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert to (float64 scores [N], bool labels [N], True = spoof)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels)
    if s.ndim != 1 or y.ndim != 1:
        raise ValueError(f"{fn}: expected 1-D scores and labels, got shapes {s.shape} and {y.shape}")
    if s.shape != y.shape:
        raise ValueError(f"{fn}: scores and labels differ in length ({s.size} vs {y.size})")
    bad = ~np.isfinite(s)
    if bad.any():
        raise ValueError(
            f"{fn}: expected finite scores, got {int(bad.sum())} non-finite value(s) "
            f"(first at index {int(np.flatnonzero(bad)[0])}); drop failed clips first"
        )
    return s, as_labels(y, fn)


def as_labels(labels: ArrayLike, fn: str) -> np.ndarray:
    """Labels as a bool array (True = spoof); accepts bool or 0/1 integers."""
    y = np.asarray(labels)
    if y.dtype == bool:
        return y
    if y.size and not np.isin(y, (0, 1)).all():
        bad = y[~np.isin(y, (0, 1))][0]
        raise ValueError(f"{fn}: expected labels in {{0, 1}} (1 = spoof, 0 = bonafide), got {bad!r}")
    return y.astype(bool)


def require_both_classes(labels: np.ndarray, fn: str) -> tuple[int, int]:
    """(n_bonafide, n_spoof); raises when either class is absent."""
    n_spoof = int(labels.sum())
    n_bona = int(labels.size - n_spoof)
    if n_spoof == 0 or n_bona == 0:
        raise ValueError(
            f"{fn}: needs both classes, got n_bonafide={n_bona}, n_spoof={n_spoof}"
        )
    return n_bona, n_spoof


@dataclass(frozen=True)
class Groups:
    """Scores sorted ascending and grouped by distinct value.

    ``order`` sorts the scores; ``starts[k]`` is the sorted position where distinct
    value ``values[k]`` begins. Operating point ``k`` in ``0..G`` means "call spoof
    when score >= thresholds[k]"; point ``G`` (threshold just above the maximum)
    calls nothing spoof.
    """

    order: np.ndarray
    starts: np.ndarray
    values: np.ndarray

    @property
    def thresholds(self) -> np.ndarray:
        top = np.nextafter(self.values[-1], np.inf)
        return np.concatenate([self.values, [top]])


def group_scores(scores: np.ndarray) -> Groups:
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    new = np.empty(sorted_scores.size, dtype=bool)
    new[:1] = True
    new[1:] = sorted_scores[1:] != sorted_scores[:-1]
    starts = np.flatnonzero(new)
    return Groups(order=order, starts=starts, values=sorted_scores[starts])


def counts_below(groups: Groups, weights: np.ndarray) -> np.ndarray:
    """Cumulative weight strictly below each operating point.

    ``weights`` is ``[B, N]`` in original clip order; returns ``[B, G + 1]`` where
    column ``k`` sums the weights of clips whose score is below ``values[k]``
    (column ``G``: all clips).
    """
    per_group = np.add.reduceat(weights[:, groups.order], groups.starts, axis=1)
    out = np.zeros((weights.shape[0], groups.starts.size + 1), dtype=per_group.dtype)
    np.cumsum(per_group, axis=1, out=out[:, 1:])
    return out


def last_argmin(values: np.ndarray) -> np.ndarray:
    """Index of the minimum along the last axis, the LAST one on ties.

    Scanning operating points from "nothing called spoof" downwards and keeping
    the first strict minimum (the ASVspoof packages' order, whose scores rise with
    bona fide-ness) picks the last minimum in our ascending order.
    """
    width = values.shape[-1]
    return width - 1 - np.argmin(values[..., ::-1], axis=-1)


def eer_from_counts(
    bona_below: np.ndarray, spoof_below: np.ndarray, n_bona: int, n_spoof: int
) -> tuple[np.ndarray, np.ndarray]:
    """EER per row and the chosen operating-point index, from integer counts.

    FPR_k = (n_bona - bona_below_k) / n_bona, FNR_k = spoof_below_k / n_spoof.
    The point minimising |FPR - FNR| is found on the exact integer numerator
    |(n_bona - bona_below) * n_spoof - spoof_below * n_bona|.
    """
    fp = n_bona - bona_below
    gap = np.abs(fp * n_spoof - spoof_below * n_bona)
    idx = last_argmin(gap)
    rows = np.arange(gap.shape[0])
    fpr = fp[rows, idx] / n_bona
    fnr = spoof_below[rows, idx] / n_spoof
    return (fpr + fnr) / 2.0, idx


def single_counts(groups: Groups, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bona_below, spoof_below), each ``[G + 1]`` int64, for one unweighted set."""
    w = np.stack([~labels, labels]).astype(np.int64)
    below = counts_below(groups, w)
    return below[0], below[1]
