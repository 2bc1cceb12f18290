"""The metric table: every metric of a ``metrics.json`` block as one entry.

A block is ``clean`` (every clip scored clean) or ``cell`` (one corrupted cell,
on the clips scored in both clean and that cell). :func:`compute_block` walks
:data:`METRICS` and fills one key per entry that applies to the block; an entry
that cannot be computed (a class missing, no clean threshold) stays ``None``.

Adding a metric is one function over :class:`MetricInput` and one entry, e.g.
for a hypothetical ``max_drift``::

    def _max_drift(m: MetricInput) -> float:
        return float(np.max(np.abs(m.p - m.clean_p)))

    Metric("max_drift", _max_drift, blocks=(CELL,))

>>> import numpy as np
>>> m = MetricInput(np.array([False, True]), raw=np.array([0.2, 0.9]), p=np.array([0.2, 0.9]))
>>> compute_block(CLEAN, m)["eer"]
0.0
>>> sorted(metric_names(CLEAN))  # doctest: +NORMALIZE_WHITESPACE
['accuracy_at_threshold', 'act_dcf', 'auroc', 'cllr', 'eer', 'eer_threshold', 'fnr_at_threshold',
 'fpr_at_threshold', 'min_dcf', 'threshold']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from .comparison import drift, flip_rate
from .functional import (
    C_FA,
    C_MISS,
    P_SPOOF,
    act_dcf,
    auroc,
    bayes_threshold,
    cllr,
    compute_eer,
    error_rates_at,
    min_dcf,
    operating_threshold,
)

__all__ = ["CELL", "CLEAN", "METRICS", "Costs", "Metric", "MetricInput", "compute_block", "metric_names"]

#: The block kinds of metrics.json an entry may apply to.
CLEAN = "clean"
CELL = "cell"


@dataclass(frozen=True)
class Costs:
    """The ASVspoof 5 detection-cost parameters, and actDCF's threshold on p_fake.

    actDCF reads p_fake as a calibrated posterior with an even training prior
    (``logit(p_fake)`` as the LLR), so the Bayes threshold ``log(beta)`` on the LLR
    is ``beta / (1 + beta)`` on p_fake.
    """

    p_spoof: float = P_SPOOF
    c_miss: float = C_MISS
    c_fa: float = C_FA

    @property
    def act_threshold_p(self) -> float:
        beta = math.exp(bayes_threshold(p_spoof=self.p_spoof, c_miss=self.c_miss, c_fa=self.c_fa))
        return beta / (1.0 + beta)

    def dcf(self) -> dict[str, float]:
        return {"p_spoof": self.p_spoof, "c_miss": self.c_miss, "c_fa": self.c_fa}


class MetricInput:
    """The arrays one block's metrics are computed from, aligned clip by clip.

    ``labels``: True = spoof. ``raw``/``p``: the block's ``raw_score`` (higher = more
    fake) and ``p_fake``. For a cell, ``clean_raw``/``clean_p`` are the same clips'
    clean scores and ``clean_threshold`` is the clean block's operating threshold
    (``threshold``: strictly between the clean scores either side of the EER point);
    ``snr_db`` the cell's measured SNRs (``None`` where not measured).
    ``declared_threshold``: the detector card's operating point on ``p_fake``
    (``provenance.detector.output.threshold``), ``None`` when the card declares none.
    """

    def __init__(
        self,
        labels: np.ndarray,
        raw: np.ndarray,
        p: np.ndarray,
        *,
        clean_raw: np.ndarray | None = None,
        clean_p: np.ndarray | None = None,
        clean_threshold: float | None = None,
        snr_db: Sequence[float | None] = (),
        costs: Costs | None = None,
        declared_threshold: float | None = None,
    ) -> None:
        self.labels, self.raw, self.p = labels, raw, p
        self.clean_raw, self.clean_p, self.clean_threshold = clean_raw, clean_p, clean_threshold
        self.snr_db = list(snr_db)
        self.costs = costs or Costs()
        self.declared_threshold = declared_threshold

    @property
    def both_classes(self) -> bool:
        """True when both bona fide and spoof clips are present."""
        return bool(self.labels.any() and not self.labels.all())

    @cached_property
    def eer_point(self) -> tuple[float, float]:
        """``(eer, threshold)`` of the block's raw scores (computed once, shared by entries)."""
        return compute_eer(self.raw, self.labels)

    def threshold(self) -> float:
        """The clean operating threshold; raises when the block has none."""
        if self.clean_threshold is None:
            raise ValueError("MetricInput: this metric needs `clean_threshold`, the clean operating threshold; got None")
        return float(self.clean_threshold)

    def card_threshold(self) -> float:
        """The card's declared operating point on ``p_fake``; raises when the card declares none."""
        if self.declared_threshold is None:
            raise ValueError(
                "MetricInput: this metric needs `declared_threshold` (the card's output.threshold on p_fake); got None"
            )
        return float(self.declared_threshold)

    def paired_clean(self) -> tuple[np.ndarray, np.ndarray]:
        """``(clean_raw, clean_p)``; raises when the block has no clean side (the clean block)."""
        if self.clean_raw is None or self.clean_p is None:
            raise ValueError("MetricInput: this metric needs the paired clean scores (`clean_raw`, `clean_p`); got None")
        return self.clean_raw, self.clean_p


@dataclass(frozen=True)
class Metric:
    """One entry of the metric table.

    ``name``: the key in the block. ``compute``: the value from a :class:`MetricInput`
    (``None`` when undefined). ``blocks``: which blocks carry it. ``both_classes``:
    left ``None`` (the block's ``note`` says why) unless both classes are present.
    ``clean_threshold``: left ``None`` when the clean block has no threshold.
    ``declared_threshold``: left ``None`` when the detector card declares no
    ``output.threshold``.
    """

    name: str
    compute: Callable[[MetricInput], float | None]
    blocks: tuple[str, ...] = (CLEAN, CELL)
    both_classes: bool = False
    clean_threshold: bool = False
    declared_threshold: bool = False


def _delta_eer(m: MetricInput) -> float:
    clean_raw, _ = m.paired_clean()
    return m.eer_point[0] - compute_eer(clean_raw, m.labels)[0]


def _drift(which: int, spoof: bool | None = None) -> Callable[[MetricInput], float | None]:
    """Drift (0 = mean |Δp|, 1 = mean Δp) over all clips, or one class (None when it has no clip)."""

    def compute(m: MetricInput) -> float | None:
        _, clean_p = m.paired_clean()
        if spoof is None:
            return drift(clean_p, m.p)[which]
        mask = m.labels if spoof else ~m.labels
        return drift(clean_p[mask], m.p[mask])[which] if mask.any() else None

    return compute


def _flip_rate(m: MetricInput) -> float:
    clean_raw, _ = m.paired_clean()
    return flip_rate(clean_raw, m.raw, m.threshold())


def _rate_at_clean_threshold(which: int) -> Callable[[MetricInput], float]:
    """FPR (0) or FNR (1) of the block's raw scores at the clean operating threshold."""
    return lambda m: error_rates_at(m.raw, m.labels, m.threshold())[which]


def _at_card_threshold(which: str) -> Callable[[MetricInput], float]:
    """Accuracy, FPR or FNR of ``p_fake`` at the card's threshold (called spoof when ``p_fake >= threshold``)."""

    def compute(m: MetricInput) -> float:
        t = m.card_threshold()
        if which == "accuracy":
            return float(np.mean((m.p >= t) == m.labels)) if m.labels.size else math.nan
        fpr, fnr = error_rates_at(m.p, m.labels, t)
        return fpr if which == "fpr" else fnr

    return compute


def _median_snr(m: MetricInput) -> float | None:
    """Median of the finite measured SNRs (``+inf`` = audio unchanged, excluded)."""
    finite = [v for v in m.snr_db if v is not None and math.isfinite(v)]
    return float(np.median(finite)) if finite else None


#: The metric table, in the order the keys are written.
METRICS: tuple[Metric, ...] = (
    Metric("eer", lambda m: m.eer_point[0], both_classes=True),
    # ``eer_threshold``: the EER point's own threshold, a clip's score. ``threshold``: the operating threshold
    # (flip rate, FPR/FNR at the clean threshold), strictly between the clean scores either side of it.
    Metric("threshold", lambda m: operating_threshold(m.raw, m.eer_point[1]), blocks=(CLEAN,), both_classes=True),
    Metric("eer_threshold", lambda m: m.eer_point[1], blocks=(CLEAN,), both_classes=True),
    Metric("delta_eer", _delta_eer, blocks=(CELL,), both_classes=True),
    Metric("auroc", lambda m: auroc(m.raw, m.labels), both_classes=True),
    Metric("min_dcf", lambda m: min_dcf(m.raw, m.labels, **m.costs.dcf())[0], both_classes=True),
    Metric("act_dcf", lambda m: act_dcf(m.p, m.labels, m.costs.act_threshold_p, **m.costs.dcf()), both_classes=True),
    Metric("drift_mean_abs", _drift(0), blocks=(CELL,)),
    Metric("drift_mean_signed", _drift(1), blocks=(CELL,)),
    Metric("drift_mean_signed_bonafide", _drift(1, spoof=False), blocks=(CELL,)),
    Metric("drift_mean_signed_spoof", _drift(1, spoof=True), blocks=(CELL,)),
    Metric("flip_rate", _flip_rate, blocks=(CELL,), clean_threshold=True),
    Metric("fpr_at_clean_threshold", _rate_at_clean_threshold(0), blocks=(CELL,), clean_threshold=True),
    Metric("fnr_at_clean_threshold", _rate_at_clean_threshold(1), blocks=(CELL,), clean_threshold=True),
    Metric("measured_snr_db", _median_snr, blocks=(CELL,)),
    Metric("cllr", lambda m: cllr(m.p, m.labels), both_classes=True),
    # The card's operating point (on p_fake), when it declares one: the numbers a deployment lives with.
    Metric("accuracy_at_threshold", _at_card_threshold("accuracy"), declared_threshold=True),
    Metric("fpr_at_threshold", _at_card_threshold("fpr"), declared_threshold=True),
    Metric("fnr_at_threshold", _at_card_threshold("fnr"), declared_threshold=True),
)


def metric_names(block: str, metrics: Sequence[Metric] = METRICS) -> list[str]:
    """The keys the metric table writes into a ``block`` (``CLEAN`` or ``CELL``)."""
    return [m.name for m in metrics if block in m.blocks]


def compute_block(block: str, data: MetricInput, metrics: Sequence[Metric] = METRICS) -> dict[str, Any]:
    """Every metric of ``block`` on ``data``; ``None`` for the entries whose requirements are not met.

    ``metrics``: the table to walk (:data:`METRICS` unless given).
    """
    if block not in (CLEAN, CELL):
        raise ValueError(f"compute_block: expected block {CLEAN!r} or {CELL!r}, got {block!r}")
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise ValueError(f"compute_block: metric names must be unique, got {names}")
    out: dict[str, Any] = {}
    for metric in metrics:
        if block not in metric.blocks:
            continue
        usable = (
            (not metric.both_classes or data.both_classes)
            and (not metric.clean_threshold or data.clean_threshold is not None)
            and (not metric.declared_threshold or data.declared_threshold is not None)
        )
        out[metric.name] = metric.compute(data) if usable else None
    return out
