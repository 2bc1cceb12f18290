"""Robustness metrics: pure functions (:mod:`.functional`), bootstrap CIs, the metric table
(:mod:`.cell_metrics`) and metrics.json."""

from __future__ import annotations

from .bootstrap import bootstrap_delta_eer_ci, bootstrap_eer_ci
from .cell_metrics import METRICS, Metric, MetricInput
from .functional import (
    act_dcf,
    auroc,
    bayes_threshold,
    cllr,
    codec_pair_delta,
    compute_eer,
    corruption_error,
    det_curve,
    drift,
    error_rates_at,
    flip_rate,
    min_dcf,
    operating_threshold,
)
from .summary import build_metrics, write_metrics

__all__ = [
    "METRICS",
    "Metric",
    "MetricInput",
    "act_dcf",
    "auroc",
    "bayes_threshold",
    "bootstrap_delta_eer_ci",
    "bootstrap_eer_ci",
    "build_metrics",
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
    "write_metrics",
]
