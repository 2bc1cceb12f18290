"""Build a realistic sweep directory (metrics.json + scores.csv per DESIGN.md) without running a sweep.

Scores are drawn from a seeded numpy Generator: clean raw scores separate the
classes; each corrupted cell adds noise and a shift that grow with severity.
``metrics.json`` is built by ``audiostress.metrics.summary.build_metrics`` from
exactly the rows, cells and provenance written here (the provenance in the shape
``runners/sweep.py`` writes: grid cells as cell-id strings, dataset size, run
settings), so the report tests see the real schema and catch drift.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from audiostress.csv_safe import escape_cell
from audiostress.metrics.summary import build_metrics, write_metrics

#: (corruption, family, param, value per severity 1..5, severities used)
CELL_SPECS: tuple[tuple[str, str, str, tuple[float, ...], tuple[int, ...]], ...] = (
    ("gaussian_noise", "noise", "snr_db", (40.0, 30.0, 20.0, 10.0, 5.0), (1, 2, 3, 4, 5)),
    ("low_pass", "filter", "cutoff_hz", (4000.0, 3200.0, 2400.0, 1600.0, 800.0), (2, 4)),
    ("pitch_shift", "modification", "semitones", (0.5, 1.0, 1.5, 2.0, 3.0), (3,)),
    ("mp3", "codec", "bitrate_kbps", (40.0, 32.0, 24.0, 16.0, 8.0), (1, 2, 3, 4, 5)),
    ("opus", "codec", "bitrate_kbps", (16.0, 8.0, 4.0, 2.0, 1.0), (4,)),
    ("encodec_24k", "neural_codec", "bandwidth_kbps", (24.0, 12.0, 6.0, 3.0, 1.5), (3, 5)),
)
#: 11 series x 5 severities = 55 cells, as a ``paper`` grid has (``make_sweep(wide=True)``).
WIDE_SPECS: tuple[tuple[str, str, str, tuple[float, ...], tuple[int, ...]], ...] = tuple(
    (name, fam, param, values, (1, 2, 3, 4, 5)) for name, fam, param, values, _ in CELL_SPECS) + (
    ("pink_noise", "noise", "snr_db", (40.0, 30.0, 20.0, 10.0, 5.0), (1, 2, 3, 4, 5)),
    ("high_pass", "filter", "cutoff_hz", (100.0, 200.0, 400.0, 800.0, 1600.0), (1, 2, 3, 4, 5)),
    ("aac", "codec", "bitrate_kbps", (64.0, 48.0, 32.0, 24.0, 16.0), (1, 2, 3, 4, 5)),
    ("vorbis_then_aac_telephone_chain", "codec", "bitrate_kbps", (64.0, 48.0, 32.0, 24.0, 16.0), (1, 2, 3, 4, 5)),
    ("dac_44k", "neural_codec", "bandwidth_kbps", (24.0, 12.0, 6.0, 3.0, 1.5), (1, 2, 3, 4, 5)),
)
#: Attack names as long as real protocols have them (``make_sweep(attacks=LONG_ATTACKS)``).
LONG_ATTACKS = ("A01-tacotron2-wavenet", "A07-vocoder-with-a-rather-long-name", "A19-unit-selection-tts")
CODEC_PAIR_CELLS = ("clean", "mp3@1", "opus@4")
#: Units of the CELL_SPECS parameters, as the grid writes them into each cell's ``axis``.
UNITS = {"snr_db": "dB", "cutoff_hz": "Hz", "semitones": "semitones", "bitrate_kbps": "kbps", "bandwidth_kbps": "kbps",
         "amount": "", "cutoff_fraction": ""}
#: A cell given by explicit parameters (no severity), added by ``make_sweep(explicit_cell=True)``.
EXPLICIT_CELL = {"cell_id": "mp3{bitrate_kbps=128}", "corruption": "mp3", "severity": None, "params": {"bitrate_kbps": 128.0},
                 "family": "codec", "table": None, "series": "mp3{bitrate_kbps=128}",
                 "axis": {"param": "bitrate_kbps", "unit": "kbps", "value": 128.0}}


#: Bootstrap resamples for the fake sweeps' CIs (small: the tests only need CIs to exist).
N_BOOTSTRAP = 100

#: scores.csv columns holding text (escaped spreadsheet-safe by the sweep's exporter).
TEXT_COLUMNS = ("clip_id", "label", "attack", "cell_id", "corruption", "error")
SCORE_COLUMNS = ["clip_id", "label", "attack", "cell_id", "corruption", "severity", "raw_score", "p_fake",
                 "measured_snr_db", "error"]


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
    extra_cell: str | None = None,
    codec_pair_cells: Sequence[str] | None = CODEC_PAIR_CELLS,
    dataset_n: int | None = None,
    shard: str | None = None,
    reference: dict[str, Any] | None = None,
    explicit_cell: bool = False,
    legacy_cells: bool = False,
    invert: bool = False,
    n_errors: int = 1,
    retried: int = 0,
    cutoff_fraction: bool = False,
    provenance_extra: dict[str, Any] | None = None,
    dataset_problems: list[dict[str, Any]] | None = None,
    csv_escape: bool = False,
    wide: bool = False,
) -> Path:
    """Write ``root/metrics.json`` (via ``build_metrics``) and ``root/scores.csv``; returns ``root``.

    ``extra_cell``: a corruption name added as one more cell ``<name>@2`` (for hostile cell ids).
    ``dataset_n``: the dataset size recorded in provenance (default: the clips written).
    ``shard``: ``provenance.run.shard`` (``"1/4"`` for a shard run). ``reference``: passed to
    ``build_metrics`` for corruption errors. ``explicit_cell``: add ``EXPLICIT_CELL``.
    ``legacy_cells``: cells without ``table``/``series``/``axis``, as sweeps wrote them
    before cells carried them (the metrics.json then has them null).
    ``invert``: clean scores rank bona fide above spoof (AUROC < 0.5). ``n_errors``: failed
    items of ``mp3@5``, all with ``error_text``. ``retried``: rows carrying ``retries=1``.
    ``cutoff_fraction``: ``low_pass`` cells given as a fraction of Nyquist (0.5 .. 0.1).
    ``provenance_extra``: keys merged into the provenance (``corrupt_rate``, ``detector_input``).
    ``dataset_problems``: ``provenance["dataset_problems"]``. ``csv_escape``: write scores.csv's
    text columns spreadsheet-safe, as the sweep's exporter does. ``wide``: the 55 cells of ``WIDE_SPECS``.
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    clips = [(f"{clip_prefix}-b{i:02d}", "bonafide", None) for i in range(n_per_class)]
    clips += [(f"{clip_prefix}-s{i:02d}", "spoof", attacks[i % len(attacks)]) for i in range(n_per_class)]
    labels = np.array([1 if lab == "spoof" else 0 for _, lab, _ in clips])
    clean_raw = np.where(labels == 1, 1.5, -1.5) * (-1.0 if invert else 1.0) + rng.normal(0, 1.0, labels.size)
    cells: list[dict[str, Any]] = [{"cell_id": "clean", "corruption": "clean", "severity": 0, "params": {}, "family": "clean",
                                    "table": None, "series": "clean", "axis": {"param": None, "unit": None, "value": None}}]
    specs = (WIDE_SPECS if wide else CELL_SPECS) + (((extra_cell, "noise", "amount", (1.0, 2.0, 3.0, 4.0, 5.0), (2,)),) if extra_cell else ())
    if cutoff_fraction:
        specs = tuple(("low_pass", "filter", "cutoff_fraction", (0.5, 0.4, 0.3, 0.2, 0.1), sevs) if name == "low_pass"
                      else (name, fam, param, values, sevs) for name, fam, param, values, sevs in specs)
    for name, fam, param, values, sevs in specs:
        for s in sevs:
            params: dict[str, Any] = {param: values[s - 1]}
            if evil_param is not None:
                params["note"] = evil_param
            cells.append({"cell_id": f"{name}@{s}", "corruption": name, "severity": s, "params": params, "family": fam,
                          "table": "fake", "series": name, "axis": {"param": param, "unit": UNITS[param], "value": values[s - 1]}})
    if explicit_cell:
        cells.append(dict(EXPLICIT_CELL))
    if legacy_cells:
        cells = [{k: v for k, v in c.items() if k not in ("table", "series", "axis")} for c in cells]
    rows: list[dict[str, Any]] = []
    for cell in cells:
        sev = cell["severity"]
        if sev == 0:
            raw = clean_raw
        else:
            level = 2 if sev is None else sev
            shift = strength * 0.35 * level * (1.0 if cell["family"] == "codec" else 0.6)
            raw = clean_raw + rng.normal(0, strength * 0.4 * level, labels.size) - shift * (labels == 1)
        for (cid, lab, atk), r in zip(clips, raw):
            rows.append(
                {"clip_id": cid, "label": lab, "attack": atk or "", "cell_id": cell["cell_id"], "corruption": cell["corruption"],
                 "severity": sev, "raw_score": repr(float(r)), "p_fake": repr(float(1 / (1 + math.exp(-r)))),
                 "measured_snr_db": "inf" if sev == 0 else repr(40.0 - 7.0 * (sev or 2)), "error": ""}
            )
    # failed items (one by default) so the errors table has content
    for bad in [r for r in rows if r["cell_id"] == "mp3@5"][:n_errors]:
        bad.update(raw_score="", p_fake="", measured_snr_db="", error=error_text)
    for r in rows[:retried]:
        r["retries"] = 1
    if drop_rows:
        rows = rows[:-drop_rows]
    provenance = {
        "audiostress": "0.1.0", "seed": seed,
        "detector": {"name": detector, "spec": f"{dataset_path}/model.py:build", "checkpoint": f"{dataset_path}/ckpt.pt"},
        "dataset": {"source": dataset_path, "format": "folder", "n": len(clips) if dataset_n is None else dataset_n,
                    "n_bonafide": n_per_class, "n_spoof": n_per_class},
        "grid": {"name": "test-grid", "cells": [c["cell_id"] for c in cells],
                 "codec_pair": list(codec_pair_cells) if codec_pair_cells is not None else None, "notes": []},
        "torch": "2.11.0", "codecs": {"pyav": "14.0"}, "machine": {"platform": "linux", "cpu_count": 2},
        "created": "2025-01-01T00:00:00+00:00",
        "run": {"batch_size": 8, "workers": 1, "device": "cpu", "precision": "fp32", "shard": shard},
        **(provenance_extra or {}),
    }
    if dataset_problems is not None:
        provenance["dataset_problems"] = dataset_problems
    metrics = build_metrics(rows, cells, provenance, codec_pair_cells=codec_pair_cells, reference=reference,
                            n_bootstrap=N_BOOTSTRAP, seed=seed)
    write_metrics(root / "metrics.json", metrics)
    with (root / "scores.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=SCORE_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: escape_cell(v) if csv_escape and k in TEXT_COLUMNS and isinstance(v, str) else v
                        for k, v in r.items()})
    return root
