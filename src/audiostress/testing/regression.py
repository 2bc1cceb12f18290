"""The change of one metric in one cell against a baseline, paired on the clips both runs scored.

Metrics that can be recomputed from per-clip scores are compared **paired**:

- ``eer``: both EERs on the common clips, a paired label-stratified bootstrap of
  the difference, and McNemar on the decisions at each run's own EER threshold;
- the error rates at a threshold (``fpr_/fnr_/tpr_at_clean_threshold`` on
  ``raw_score`` at each run's clean EER threshold; ``fpr_/fnr_/tpr_at_threshold``
  on ``p_fake`` at the card's declared ``output.threshold``): the rate on the common
  clips of its class, a paired bootstrap of the change and McNemar on the clips of
  that class whose decision flipped.

Any other metric is compared as the difference of the two metrics.json values,
without a CI (``paired`` False, ``note`` says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..metrics.functional import compute_eer
from ..metrics.paired import McNemar, PairedDiff, mcnemar, paired_bootstrap_eer_diff, paired_bootstrap_rate_diff
from .lookup import Reading, blocks_of, read_cell, read_sweep
from .scores import ScoreTable

__all__ = ["Change", "compare"]

#: Rate metrics recomputable per clip: metric -> (threshold source, class the rate is over: True = spoof, complement).
_RATES: dict[str, tuple[str, bool, bool]] = {
    "fpr_at_clean_threshold": ("clean", False, False),
    "fnr_at_clean_threshold": ("clean", True, False),
    "tpr_at_clean_threshold": ("clean", True, True),
    "fpr_at_threshold": ("declared", False, False),
    "fnr_at_threshold": ("declared", True, False),
    "tpr_at_threshold": ("declared", True, True),
}


@dataclass(frozen=True)
class Change:
    """``new - base`` for one metric in one cell (or sweep-level key)."""

    base: Reading
    new_value: float | None
    base_value: float | None
    change: PairedDiff | None
    mcnemar: McNemar | None = None
    paired: bool = False
    note: str | None = None


def _threshold(metrics: Mapping[str, Any], source: str) -> tuple[float | None, bool]:
    """(threshold, on p_fake) for a rate metric's decisions."""
    if source == "clean":
        clean = metrics.get("clean") or {}
        value = clean.get("threshold")
        return (float(value) if isinstance(value, (int, float)) else None), False
    detector = (metrics.get("provenance") or {}).get("detector") or {}
    output = detector.get("output") if isinstance(detector, Mapping) else None
    value = output.get("threshold") if isinstance(output, Mapping) else None
    return (float(value) if isinstance(value, (int, float)) else None), True


def _common(new: ScoreTable, base: ScoreTable, cell: str) -> tuple[list[str], np.ndarray] | None:
    if cell not in new or cell not in base:
        return None
    ids = sorted(set(new[cell]) & set(base[cell]))
    labels = np.array([new[cell][c].spoof for c in ids], dtype=bool)
    if not ids or labels.all() or not labels.any():
        return None
    return ids, labels


def _paired(
    metric: str, cell: str, new_metrics: Mapping[str, Any], new: ScoreTable, base_metrics: Mapping[str, Any], base: ScoreTable,
    n_boot: int, seed: int,
) -> tuple[float, float, PairedDiff, McNemar] | None:  # fmt: skip
    common = _common(new, base, cell)
    if common is None:
        return None
    ids, y = common
    if metric == "eer":
        raw_b = np.array([base[cell][c].raw for c in ids])
        raw_n = np.array([new[cell][c].raw for c in ids])
        eer_b, thr_b = compute_eer(raw_b, y)
        eer_n, thr_n = compute_eer(raw_n, y)
        diff = paired_bootstrap_eer_diff(raw_b, raw_n, y, n=n_boot, seed=seed)
        return eer_b, eer_n, diff, mcnemar((raw_b >= thr_b) == y, (raw_n >= thr_n) == y)
    if metric not in _RATES:
        return None
    source, spoof, complement = _RATES[metric]
    (base_thr, on_p), (new_thr, _) = _threshold(base_metrics, source), _threshold(new_metrics, source)
    if base_thr is None or new_thr is None:
        return None
    thr_b, thr_n = base_thr, new_thr
    pick = (lambda s: s.p) if on_p else (lambda s: s.raw)
    wrong_b = (np.array([pick(base[cell][c]) for c in ids]) >= thr_b) != y
    wrong_n = (np.array([pick(new[cell][c]) for c in ids]) >= thr_n) != y
    member = y if spoof else ~y
    diff = paired_bootstrap_rate_diff(wrong_b, wrong_n, y, spoof=spoof, n=n_boot, seed=seed)
    rate_b, rate_n = float(wrong_b[member].mean()), float(wrong_n[member].mean())
    test = mcnemar(~wrong_b[member], ~wrong_n[member])
    if complement:
        flipped = (-diff.ci95[1], -diff.ci95[0]) if diff.ci95 else None
        return 1.0 - rate_b, 1.0 - rate_n, PairedDiff(-diff.point, flipped, diff.n), test
    return rate_b, rate_n, diff, test


def compare(
    metric: str, cell: str | None, new_metrics: Mapping[str, Any], new_scores: ScoreTable | None,
    base_metrics: Mapping[str, Any], base_scores: ScoreTable | None,
) -> Change:  # fmt: skip
    """The change of ``metric`` in ``cell`` (``None``: a sweep-level key) from the baseline to the new run."""
    if cell is None:
        base_r, new_r = read_sweep(base_metrics, metric), read_sweep(new_metrics, metric)
    else:
        base_r = read_cell(blocks_of(base_metrics).get(cell) or {}, metric)
        new_r = read_cell(blocks_of(new_metrics).get(cell) or {}, metric)
    settings = new_metrics.get("settings") or {}
    n_boot = int(settings.get("n_bootstrap", 1000) or 0)
    seed = int(settings.get("seed", 0) or 0)
    if cell is not None and new_scores is not None and base_scores is not None:
        done = _paired(metric, cell, new_metrics, new_scores, base_metrics, base_scores, n_boot, seed)
        if done is not None:
            value_b, value_n, diff, test = done
            return Change(base_r, value_n, value_b, diff, test, paired=True)
    if base_r.value is None or new_r.value is None:
        what = "the baseline" if base_r.value is None else "this sweep"
        return Change(base_r, new_r.value, base_r.value, None, note=f"{metric} is undefined in {what}")
    diff = PairedDiff(new_r.value - base_r.value, None, int(new_r.n or 0))
    return Change(base_r, new_r.value, base_r.value, diff, note="not paired (no per-clip recomputation for this metric)")
