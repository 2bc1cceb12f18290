"""Build a realistic sweep directory (metrics.json + scores.csv per DESIGN.md) without running a sweep.

Scores are drawn from a seeded numpy Generator: clean raw scores separate the
classes; each corrupted cell adds noise and a shift that grow with severity.
The metric values are computed here with small brute-force functions so the
report has consistent numbers to show (the report must only copy them).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

#: (corruption, family, param, value per severity 1..5, severities used)
CELL_SPECS: tuple[tuple[str, str, str, tuple[float, ...], tuple[int, ...]], ...] = (
    ("gaussian_noise", "noise", "snr_db", (40.0, 30.0, 20.0, 10.0, 5.0), (1, 2, 3, 4, 5)),
    ("low_pass", "filter", "cutoff_hz", (4000.0, 3200.0, 2400.0, 1600.0, 800.0), (2, 4)),
    ("pitch_shift", "modification", "semitones", (0.5, 1.0, 1.5, 2.0, 3.0), (3,)),
    ("mp3", "codec", "bitrate_kbps", (40.0, 32.0, 24.0, 16.0, 8.0), (1, 2, 3, 4, 5)),
    ("opus", "codec", "bitrate_kbps", (16.0, 8.0, 4.0, 2.0, 1.0), (4,)),
    ("encodec_24k", "neural_codec", "bandwidth_kbps", (24.0, 12.0, 6.0, 3.0, 1.5), (3, 5)),
)
CODEC_PAIR_CELLS = ("clean", "mp3@1", "opus@4")


def _eer(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    best = (2.0, 0.0, 0.0)
    for t in np.unique(scores):
        fpr = float(np.mean(scores[labels == 0] >= t))
        fnr = float(np.mean(scores[labels == 1] < t))
        if abs(fpr - fnr) < best[0]:
            best = (abs(fpr - fnr), (fpr + fnr) / 2, float(t))
    return best[1], best[2]


def _auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    return float(np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])))


def make_sweep(
    root: Path,
    *,
    detector: str = "toy-detector",
    n_per_class: int = 12,
    strength: float = 1.0,
    seed: int = 0,
    attacks: tuple[str, ...] = ("A01", "A02"),
    clip_prefix: str = "clip",
    error_text: str = "decode failed: truncated frame",
    dataset_path: str = "/data/demo",
    drop_rows: int = 0,
    evil_param: str | None = None,
) -> Path:
    """Write ``root/metrics.json`` and ``root/scores.csv``; returns ``root``."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    clips = [(f"{clip_prefix}-b{i:02d}", "bonafide", None) for i in range(n_per_class)]
    clips += [(f"{clip_prefix}-s{i:02d}", "spoof", attacks[i % len(attacks)]) for i in range(n_per_class)]
    labels = np.array([1 if lab == "spoof" else 0 for _, lab, _ in clips])
    clean_raw = np.where(labels == 1, 1.5, -1.5) + rng.normal(0, 1.0, labels.size)
    cells: list[dict[str, Any]] = [{"cell_id": "clean", "corruption": "clean", "severity": 0, "params": {}, "family": "clean"}]
    for name, fam, param, values, sevs in CELL_SPECS:
        for s in sevs:
            params: dict[str, Any] = {param: values[s - 1]}
            if evil_param is not None:
                params["note"] = evil_param
            cells.append({"cell_id": f"{name}@{s}", "corruption": name, "severity": s, "params": params, "family": fam})
    rows: list[dict[str, Any]] = []
    raw_by_cell: dict[str, np.ndarray] = {}
    for cell in cells:
        sev = cell["severity"]
        if sev == 0:
            raw = clean_raw
        else:
            shift = strength * 0.35 * sev * (1.0 if cell["family"] == "codec" else 0.6)
            raw = clean_raw + rng.normal(0, strength * 0.4 * sev, labels.size) - shift * (labels == 1)
        raw_by_cell[cell["cell_id"]] = raw
        for (cid, lab, atk), r in zip(clips, raw):
            rows.append(
                {"clip_id": cid, "label": lab, "attack": atk or "", "cell_id": cell["cell_id"], "corruption": cell["corruption"],
                 "severity": sev, "raw_score": repr(float(r)), "p_fake": repr(float(1 / (1 + math.exp(-r)))),
                 "measured_snr_db": "inf" if sev == 0 else repr(40.0 - 7.0 * sev), "error": ""}
            )
    # one failed item so the errors table has content
    bad = next(r for r in rows if r["cell_id"] == "mp3@5")
    bad.update(raw_score="", p_fake="", measured_snr_db="", error=error_text)
    if drop_rows:
        rows = rows[:-drop_rows]
    p_clean = 1 / (1 + np.exp(-clean_raw))
    clean_eer, thr = _eer(clean_raw, labels)
    metric_cells = []
    per_attack: dict[str, dict[str, float]] = {}
    for cell in cells:
        raw = raw_by_cell[cell["cell_id"]]
        eer, _ = _eer(raw, labels)
        for atk in attacks:
            keep = (labels == 0) | np.array([a == atk for _, _, a in clips])
            per_attack.setdefault(cell["cell_id"], {})[atk] = _eer(raw[keep], labels[keep])[0]
        if cell["cell_id"] == "clean":
            continue
        p = 1 / (1 + np.exp(-raw))
        fpr = float(np.mean(raw[labels == 0] >= thr))
        fnr = float(np.mean(raw[labels == 1] < thr))
        metric_cells.append(
            {**cell, "n": int(labels.size) - (1 if cell["cell_id"] == "mp3@5" else 0),
             "errors": 1 if cell["cell_id"] == "mp3@5" else 0, "eer": eer, "delta_eer": eer - clean_eer,
             "eer_ci95": [max(0.0, eer - 0.08), min(1.0, eer + 0.08)],
             "delta_eer_ci95": [eer - clean_eer - 0.09, eer - clean_eer + 0.07],
             "auroc": _auroc(raw, labels), "min_dcf": min(1.0, 2 * eer), "act_dcf": min(1.0, 2.5 * eer),
             "drift_mean_abs": float(np.mean(np.abs(p - p_clean))), "drift_mean_signed": float(np.mean(p - p_clean)),
             "flip_rate": float(np.mean((raw >= thr) != (clean_raw >= thr))),
             "fpr_at_clean_threshold": fpr, "fnr_at_clean_threshold": fnr,
             "measured_snr_db": 40.0 - 7.0 * cell["severity"]}
        )
    codec_delta = np.max([1 / (1 + np.exp(-raw_by_cell[c])) for c in CODEC_PAIR_CELLS], axis=0) - np.min(
        [1 / (1 + np.exp(-raw_by_cell[c])) for c in CODEC_PAIR_CELLS], axis=0)
    metrics = {
        "schema": 1,
        "provenance": {
            "audiostress": "0.1.0", "seed": seed,
            "detector": {"name": detector, "spec": f"{dataset_path}/model.py:build", "checkpoint": f"{dataset_path}/ckpt.pt"},
            "dataset": {"source": dataset_path, "format": "folder", "n_clips": len(clips)},
            "grid": {"name": "test-grid", "cells": [{k: c[k] for k in ("cell_id", "corruption", "severity", "params")} for c in cells]},
            "torch": "2.11.0", "codecs": {"pyav": "14.0"}, "machine": {"platform": "linux", "cpu_count": 2},
            "created": "2025-01-01T00:00:00+00:00",
        },
        "clean": {"n": int(labels.size), "n_bonafide": int((labels == 0).sum()), "n_spoof": int(labels.sum()),
                  "eer": clean_eer, "threshold": thr, "auroc": _auroc(clean_raw, labels), "min_dcf": min(1.0, 2 * clean_eer)},
        "cells": metric_cells,
        "errors": [{"clip_id": bad["clip_id"], "cell_id": "mp3@5", "error": error_text}],
        "coverage": {"clips": len(clips), "cells": len(cells), "pairs_expected": len(clips) * len(cells),
                     "pairs_scored": len(clips) * len(cells) - 1 - drop_rows, "pairs_failed": 1, "pairs_missing": drop_rows,
                     "fraction_scored": (len(clips) * len(cells) - 1 - drop_rows) / (len(clips) * len(cells)),
                     "clips_failed_clean": 0},
        "codec_pair": {"cells": list(CODEC_PAIR_CELLS), "n": int(labels.size), "mean": float(codec_delta.mean()),
                       "max": float(codec_delta.max()), "gate_mean": 0.15, "gate_max": 0.35,
                       "pass": bool(codec_delta.mean() <= 0.15 and codec_delta.max() <= 0.35)},
        "per_attack": per_attack,
    }
    (root / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True), encoding="utf-8")
    with (root / "scores.csv").open("w", newline="", encoding="utf-8") as f:
        cols = ["clip_id", "label", "attack", "cell_id", "corruption", "severity", "raw_score", "p_fake", "measured_snr_db", "error"]
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    return root
