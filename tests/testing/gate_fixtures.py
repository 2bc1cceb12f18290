"""Constructed sweep directories for the gate tests (importable by name: `from gate_fixtures import ...`).

``write_sweep(out, cells, n_per_class, seed)`` writes ``metrics.json`` (through
``build_metrics``, the code path of a real sweep) and ``scores.csv`` from synthetic
scores: bona fide raw scores ~ N(0, 1), spoof ~ N(separation, 1), ``p_fake`` the
logistic of the raw score. Each cell is ``cell_id -> separation``; ``clean`` is required.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from audiostress.metrics.summary import build_metrics, write_metrics
from audiostress.runners.store import export_scores_csv

DEFAULT_CELLS = {"clean": 3.0, "mp3@1": 2.0, "mp3@5": 0.6, "opus@2": 2.5}


def synthetic_rows(cells: dict[str, float], n_per_class: int, seed: int, *, shift: dict[str, float] | None = None) -> list[dict]:
    """One row per (clip, cell); the clip's noise is shared across cells (same clips, paired)."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(2 * n_per_class)
    jitter = {cid: np.random.default_rng([seed, k]).standard_normal(2 * n_per_class) * 0.3 for k, cid in enumerate(cells)}
    rows = []
    for i in range(2 * n_per_class):
        spoof = i >= n_per_class
        clip = f"{'spoof' if spoof else 'bonafide'}/clip_{i:03d}"
        for cid, sep in cells.items():
            raw = float(base[i] + jitter[cid][i] + (sep if spoof else 0.0) + (shift or {}).get(cid, 0.0) * (-1 if spoof else 1))
            corruption, _, sev = cid.partition("@")
            rows.append({
                "clip_id": clip, "label": "spoof" if spoof else "bonafide", "attack": "tts" if spoof else None,
                "cell_id": cid, "corruption": corruption, "severity": int(sev) if sev else 0,
                "raw_score": raw, "p_fake": 1.0 / (1.0 + math.exp(-raw)), "measured_snr_db": None, "error": None,
            })  # fmt: skip
    return rows


def write_sweep(
    out: Path,
    cells: dict[str, float] | None = None,
    n_per_class: int = 40,
    seed: int = 0,
    *,
    shift: dict[str, float] | None = None,
    codec_pair: list[str] | None = None,
    n_bootstrap: int = 300,
    threshold: float | None = None,
) -> Path:
    """A sweep directory with metrics.json and scores.csv; ``shift`` moves each class towards the wrong side."""
    cells = dict(cells or DEFAULT_CELLS)
    rows = synthetic_rows(cells, n_per_class, seed, shift=shift)
    specs = []
    for cid in cells:
        corruption, _, sev = cid.partition("@")
        specs.append({"cell_id": cid, "corruption": corruption, "severity": int(sev) if sev else 0, "params": {}, "family": "codec"})
    provenance = {
        "dataset": {"format": "folder", "n": 2 * n_per_class, "limit": None},
        "grid": {"name": "constructed", "cells": list(cells), "codec_pair": codec_pair},
        "detector": {"name": "synthetic", "output": {"threshold": threshold}},
        "seed": 0,
    }
    metrics = build_metrics(rows, specs, provenance, codec_pair_cells=codec_pair, n_bootstrap=n_bootstrap, seed=0)
    out.mkdir(parents=True, exist_ok=True)
    write_metrics(out / "metrics.json", metrics)
    export_scores_csv(rows, out / "scores.csv")
    return out
