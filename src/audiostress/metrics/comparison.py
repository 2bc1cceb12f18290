"""Per-clip comparisons with clean and cross-cell aggregates (pure numpy).

Re-exported by :mod:`audiostress.metrics.functional`; see there for the label and
threshold conventions (higher score = more spoof, called spoof when ``score >= t``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

EerTable = Mapping[int, float] | Sequence[float]


def _paired(a: ArrayLike, b: ArrayLike, fn: str, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"{fn}: expected two 1-D arrays of equal length ({names[0]}, {names[1]}), "
            f"got shapes {x.shape} and {y.shape}"
        )
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError(f"{fn}: expected finite values; drop failed clips first")
    return x, y


def flip_rate(clean_scores: ArrayLike, cell_scores: ArrayLike, threshold: float) -> float:
    """Share of clips whose decision at ``threshold`` differs between clean and the cell.

    Pass the **clean EER threshold** on the same score the EER was computed on:
    a deployed detector keeps its threshold. ``nan`` for no clips.

    >>> flip_rate([0.1, 0.6, 0.9], [0.7, 0.6, 0.2], 0.5)
    0.6666666666666666
    """
    x, y = _paired(clean_scores, cell_scores, "flip_rate", ("clean_scores", "cell_scores"))
    if x.size == 0:
        return math.nan
    t = float(threshold)
    return float(np.mean((x >= t) != (y >= t)))


def drift(clean_p: ArrayLike, cell_p: ArrayLike) -> tuple[float, float]:
    """(mean |p_cell - p_clean|, mean (p_cell - p_clean)) over paired clips; nan for none.

    A positive signed drift means the corruption makes clips look more fake.
    """
    x, y = _paired(clean_p, cell_p, "drift", ("clean_p", "cell_p"))
    if x.size == 0:
        return math.nan, math.nan
    d = y - x
    return float(np.mean(np.abs(d))), float(np.mean(d))


def codec_pair_delta(p_matrix: ArrayLike) -> np.ndarray:
    """Per-clip ``max - min`` of p_fake across codec variants (ArtifactBench Δ).

    ``p_matrix`` is ``[clips, variants]``, every entry scored (no nan).

    >>> codec_pair_delta([[0.1, 0.5, 0.3], [0.9, 0.9, 0.8]]).round(3).tolist()
    [0.4, 0.1]
    """
    p = np.asarray(p_matrix, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 1:
        raise ValueError(f"codec_pair_delta: expected [clips, variants], got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("codec_pair_delta: expected finite p_fake; keep only clips scored in every variant")
    return p.max(axis=1) - p.min(axis=1)


def _as_table(table: EerTable, name: str) -> dict[int, float]:
    if isinstance(table, Mapping):
        out = {int(k): float(v) for k, v in table.items()}
    else:
        out = {i + 1: float(v) for i, v in enumerate(table)}
    if not out:
        raise ValueError(f"corruption_error: `{name}` is empty")
    for sev, v in out.items():
        if not math.isfinite(v):
            raise ValueError(f"corruption_error: `{name}` at severity {sev} is {v}; expected a finite EER")
    return out


def corruption_error(
    eers_by_severity: EerTable,
    ref_eers_by_severity: EerTable,
    clean_eer: float | None = None,
    ref_clean_eer: float | None = None,
) -> tuple[float, float | None]:
    """ImageNet-C corruption error (CE) and relative CE against a reference detector.

    Tables are ``{severity: eer}`` or sequences for severities 1, 2, ...; both must
    cover the same severities. With E = EER::

        CE          = sum_s E_s / sum_s E_ref_s
        relative CE = sum_s (E_s - E_clean) / sum_s (E_ref_s - E_ref_clean)

    The relative CE subtracts the clean error at *every* severity (equivalently
    ``(mean_s E_s - E_clean) / (mean_s E_ref_s - E_ref_clean)``), the ImageNet-C
    meaning of the ANCHORS.md formula: a corruption that changes nothing then
    scores 0, which subtracting ``E_clean`` once from the 5-term sum would not give.
    Relative CE is ``None`` unless both clean EERs are given; either value is
    ``nan`` when its denominator is 0 (the reference never errs / never degrades).

    >>> corruption_error([0.1, 0.2], [0.2, 0.4], 0.05, 0.1)
    (0.5, 0.5)
    """
    mine = _as_table(eers_by_severity, "eers_by_severity")
    ref = _as_table(ref_eers_by_severity, "ref_eers_by_severity")
    if set(mine) != set(ref):
        raise ValueError(
            f"corruption_error: severities differ, {sorted(mine)} vs reference {sorted(ref)}"
        )
    sevs = sorted(mine)
    num = sum(mine[s] for s in sevs)
    den = sum(ref[s] for s in sevs)
    ce = num / den if den != 0 else math.nan
    if clean_eer is None or ref_clean_eer is None:
        return ce, None
    rel_num = sum(mine[s] - float(clean_eer) for s in sevs)
    rel_den = sum(ref[s] - float(ref_clean_eer) for s in sevs)
    rel = rel_num / rel_den if rel_den != 0 else math.nan
    return ce, rel
