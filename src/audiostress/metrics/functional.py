"""Threshold metrics as pure numpy functions.

Conventions (every function here):

- **Positive class = spoof.** ``labels``: 1/True = spoof, 0/False = bona fide.
- **Higher score = more spoof.** A clip is *called spoof* when ``score >= threshold``.
- **FPR** = share of bona fide clips called spoof; **FNR** = share of spoof clips
  called bona fide. Rates are fractions in [0, 1].
- Scores must be finite; drop failed clips before calling.

EER definition (the ASVspoof evaluation packages' ``compute_eer``, with ties
grouped): the operating points are "call spoof when score >= t" for every distinct
score ``t`` plus one threshold just above the maximum (nothing called spoof). The
EER is ``(FPR + FNR) / 2`` at the point where ``|FPR - FNR|`` is smallest. On ties
of ``|FPR - FNR|`` the packages keep the first minimum scanning from "nothing
rejected as spoof" (they score bona fide-ness, ascending); here that is the point
with the highest threshold. Grouping ties means no operating point splits a set
of equal scores, which no real threshold could do. The ``|FPR - FNR|`` comparison
is made on exact integer counts, so the choice is platform independent. (The
packages compare floats, so two exactly equal gaps can be ordered by rounding
noise: on 2,000 small random untied score sets their float rule picked the other
of two tied points 42 times; the exact rule here agreed with an exact-arithmetic
re-implementation of the packages' rule on all 2,000.)

minDCF / actDCF (ASVspoof 5): a *miss* is a bona fide clip rejected (called
spoof, our FPR) and a *false alarm* is a spoof clip accepted (our FNR)::

    DCF(t)  = c_miss * (1 - p_spoof) * FPR(t) + c_fa * p_spoof * FNR(t)
    normalised by DCF_default = min(c_miss * (1 - p_spoof), c_fa * p_spoof)

minDCF is the minimum over the same operating points as the EER (so it is <= 1);
actDCF evaluates it at a given threshold, for example :func:`bayes_threshold` on
scores that are spoof-vs-bona fide log-likelihood ratios, as ASVspoof 5 does.

>>> compute_eer([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
(0.5, 0.4)
>>> auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
0.75
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from ._curve import (
    as_scores_labels,
    eer_from_counts,
    group_scores,
    last_argmin,
    require_both_classes,
    single_counts,
)
from .comparison import codec_pair_delta, corruption_error, drift, flip_rate

__all__ = [
    "act_dcf",
    "auroc",
    "bayes_threshold",
    "cllr",
    "codec_pair_delta",
    "compute_eer",
    "corruption_error",
    "det_curve",
    "drift",
    "error_rates_at",
    "flip_rate",
    "min_dcf",
    "operating_threshold",
]

#: ASVspoof 5 defaults for the detection cost function.
P_SPOOF = 0.05
C_MISS = 1.0
C_FA = 10.0
#: ``p_fake`` is clipped to ``[CLLR_EPS, 1 - CLLR_EPS]`` before it becomes a log-likelihood ratio (Cllr).
CLLR_EPS = 1e-12


def det_curve(scores: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FPR, FNR and thresholds at every distinct operating point (ties grouped).

    ``thresholds`` ascend: every distinct score, then one just above the maximum
    (``np.nextafter(max, inf)``, nothing called spoof). ``fpr`` falls from 1 to 0
    and ``fnr`` rises from 0 to 1 along them.

    >>> fpr, fnr, thr = det_curve([0.2, 0.2, 0.7], [0, 1, 1])
    >>> fpr.tolist(), fnr.tolist()
    ([1.0, 0.0, 0.0], [0.0, 0.5, 1.0])
    """
    s, y = as_scores_labels(scores, labels, "det_curve")
    n_bona, n_spoof = require_both_classes(y, "det_curve")
    groups = group_scores(s)
    bona_below, spoof_below = single_counts(groups, y)
    return (n_bona - bona_below) / n_bona, spoof_below / n_spoof, groups.thresholds


def compute_eer(scores: ArrayLike, labels: ArrayLike) -> tuple[float, float]:
    """Equal error rate and its threshold (see the module docstring for the definition).

    Returns ``(eer, threshold)``: ``eer`` is a fraction; clips with
    ``score >= threshold`` are called spoof at that operating point.
    """
    s, y = as_scores_labels(scores, labels, "compute_eer")
    n_bona, n_spoof = require_both_classes(y, "compute_eer")
    groups = group_scores(s)
    bona_below, spoof_below = single_counts(groups, y)
    eer, idx = eer_from_counts(bona_below[None], spoof_below[None], n_bona, n_spoof)
    return float(eer[0]), float(groups.thresholds[idx[0]])


def operating_threshold(scores: ArrayLike, threshold: float) -> float:
    """A threshold strictly between the two adjacent ``scores`` around ``threshold``, with the same decisions.

    ``threshold`` is an operating point "call spoof when score >= threshold", such as
    :func:`compute_eer`'s, which sits exactly on one clip's score. A clip there is
    one rounding step from flipping, so a deployed operating point should not sit on
    it. The rule: take the gap between the highest score called bona fide and the
    lowest score called spoof and return its midpoint. Every clip of ``scores`` gets
    the decision it had at ``threshold``. When every clip is called spoof (or none),
    the gap below the lowest (above the highest) score has no far edge; it is given
    the width of the adjacent gap between distinct scores, or 1.0 when all scores
    are equal. When the two scores are adjacent floats no value lies strictly between
    them, and the upper score is returned.

    >>> operating_threshold([0.1, 0.4, 0.35, 0.8], 0.4)
    0.375
    >>> operating_threshold([0.25, 0.75], 0.25), operating_threshold([0.25, 0.75], np.nextafter(0.75, 1.0))
    (0.0, 1.0)
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or s.size == 0 or not np.isfinite(s).all():
        raise ValueError(f"operating_threshold: expected a non-empty 1-D array of finite scores, got shape {s.shape}")
    t = float(threshold)
    if not math.isfinite(t):
        raise ValueError(f"operating_threshold: expected a finite threshold, got {threshold!r}")
    values = np.unique(s)
    below, above = values[values < t], values[values >= t]
    if below.size and above.size:
        low, high = float(below[-1]), float(above[0])
    elif above.size:  # every clip called spoof
        high = float(above[0])
        low = high - (float(above[1]) - high if above.size > 1 else 1.0)
    else:  # no clip called spoof
        low = float(below[-1])
        high = low + (low - float(below[-2]) if below.size > 1 else 1.0)
    mid = low + (high - low) / 2.0
    return mid if low < mid < high else high


def auroc(scores: ArrayLike, labels: ArrayLike) -> float:
    """Area under the ROC curve: P(spoof score > bona fide score) + 0.5 P(equal).

    This is the Mann-Whitney U statistic of the spoof scores divided by
    ``n_spoof * n_bonafide`` (ties count one half).
    """
    s, y = as_scores_labels(scores, labels, "auroc")
    n_bona, n_spoof = require_both_classes(y, "auroc")
    groups = group_scores(s)
    bona_below, spoof_below = single_counts(groups, y)
    bona_in = np.diff(bona_below)
    spoof_in = np.diff(spoof_below)
    wins = np.sum(spoof_in * (2 * bona_below[:-1] + bona_in))  # twice the U statistic
    return float(wins / (2.0 * n_spoof * n_bona))


def _check_costs(p_spoof: float, c_miss: float, c_fa: float, fn: str) -> float:
    if not 0.0 < p_spoof < 1.0:
        raise ValueError(f"{fn}: expected `p_spoof` in (0, 1), got {p_spoof}")
    for name, value in (("c_miss", c_miss), ("c_fa", c_fa)):
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"{fn}: expected `{name}` > 0, got {value}")
    return min(c_miss * (1.0 - p_spoof), c_fa * p_spoof)


def min_dcf(
    scores: ArrayLike,
    labels: ArrayLike,
    *,
    p_spoof: float = P_SPOOF,
    c_miss: float = C_MISS,
    c_fa: float = C_FA,
) -> tuple[float, float]:
    """Normalised minimum detection cost (ASVspoof 5) and the threshold reaching it.

    Minimum over the same operating points as :func:`compute_eer`; on equal cost
    the highest threshold is kept (the ASVspoof 5 package's scan order).
    """
    s, y = as_scores_labels(scores, labels, "min_dcf")
    n_bona, n_spoof = require_both_classes(y, "min_dcf")
    norm = _check_costs(p_spoof, c_miss, c_fa, "min_dcf")
    groups = group_scores(s)
    bona_below, spoof_below = single_counts(groups, y)
    fpr = (n_bona - bona_below) / n_bona
    fnr = spoof_below / n_spoof
    dcf = (c_miss * (1.0 - p_spoof) * fpr + c_fa * p_spoof * fnr) / norm
    idx = int(last_argmin(dcf))
    return float(dcf[idx]), float(groups.thresholds[idx])


def act_dcf(
    scores: ArrayLike,
    labels: ArrayLike,
    threshold: float,
    *,
    p_spoof: float = P_SPOOF,
    c_miss: float = C_MISS,
    c_fa: float = C_FA,
) -> float:
    """Normalised detection cost at a fixed ``threshold`` (call spoof when score >= threshold)."""
    s, y = as_scores_labels(scores, labels, "act_dcf")
    require_both_classes(y, "act_dcf")
    norm = _check_costs(p_spoof, c_miss, c_fa, "act_dcf")
    fpr, fnr = error_rates_at(s, y, threshold)
    return float((c_miss * (1.0 - p_spoof) * fpr + c_fa * p_spoof * fnr) / norm)


def bayes_threshold(*, p_spoof: float = P_SPOOF, c_miss: float = C_MISS, c_fa: float = C_FA) -> float:
    """Bayes decision threshold for spoof-vs-bona fide log-likelihood-ratio scores.

    Calling spoof costs less than accepting when ``LLR > log(c_miss (1 - p_spoof) / (c_fa p_spoof))``
    (ASVspoof 5's ``-log(beta)`` on bona fide LLRs, with the sign flipped for spoof scores).

    >>> round(bayes_threshold(), 4)
    0.6419
    """
    _check_costs(p_spoof, c_miss, c_fa, "bayes_threshold")
    return math.log(c_miss * (1.0 - p_spoof) / (c_fa * p_spoof))


def error_rates_at(scores: ArrayLike, labels: ArrayLike, threshold: float) -> tuple[float, float]:
    """(FPR, FNR) when clips with ``score >= threshold`` are called spoof.

    A rate whose class is absent is ``nan`` (no crash), so callers can report the
    other one.
    """
    s, y = as_scores_labels(scores, labels, "error_rates_at")
    t = float(threshold)
    if math.isnan(t):
        raise ValueError("error_rates_at: expected a threshold, got nan")
    called = s >= t
    bona = ~y
    fpr = float(called[bona].mean()) if bona.any() else math.nan
    fnr = float((~called[y]).mean()) if y.any() else math.nan
    return fpr, fnr


def cllr(p_fake: ArrayLike, labels: ArrayLike, *, eps: float = CLLR_EPS) -> float:
    """Log-likelihood-ratio cost (ASVspoof 5 secondary metric), in bits.

    ``p_fake`` is read as a calibrated posterior under an even prior, so the
    natural-log likelihood ratio for spoof is ``L = ln(p / (1 - p))``, with ``p``
    clipped to ``[eps, 1 - eps]``::

        Cllr = 1/2 * [ mean_spoof log2(1 + e^-L) + mean_bonafide log2(1 + e^L) ]

    0 for a perfectly separating, confident detector; 1 for one that always says
    ``p = 0.5``; above 1 when confident and wrong.

    >>> cllr([0.5, 0.5], [0, 1])
    1.0
    >>> round(cllr([0.1, 0.9], [0, 1]), 4)
    0.152
    """
    p, y = as_scores_labels(p_fake, labels, "cllr")
    require_both_classes(y, "cllr")
    if not 0.0 < eps < 0.5:
        raise ValueError(f"cllr: expected `eps` in (0, 0.5), got {eps}")
    q = np.clip(p, eps, 1.0 - eps)
    llr = np.log(q) - np.log1p(-q)
    # log2(1 + e^x) = logaddexp(0, x) / ln 2, stable for large |x|.
    spoof_cost = np.logaddexp(0.0, -llr[y]).mean() / math.log(2.0)
    bona_cost = np.logaddexp(0.0, llr[~y]).mean() / math.log(2.0)
    return float(0.5 * (spoof_cost + bona_cost))
