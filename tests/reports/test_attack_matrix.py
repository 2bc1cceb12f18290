"""The attack matrix shows the paired per-attack ΔEER: a cell that changes nothing reads 0 even when a clip failed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audiostress.metrics.summary import build_metrics, write_metrics
from audiostress.reports.load import load_sweep
from audiostress.reports.plots_scores import attack_values

CELLS = [{"cell_id": "clean", "corruption": "clean", "severity": 0, "params": {}, "family": "clean"},
         {"cell_id": "gain@1", "corruption": "gain", "severity": 1, "params": {"gain_db": 0.0}, "family": "modification"}]
SCORES = {"b0": -1.0, "b1": -0.5, "b2": 0.2, "s0": 0.1, "s1": 1.0, "s2": 2.0}


def _noop_sweep_with_one_failed_spoof(root: Path) -> Path:
    rows = []
    for cell in CELLS:
        for clip, raw in SCORES.items():
            failed = cell["cell_id"] == "gain@1" and clip == "s0"
            rows.append({"clip_id": clip, "label": "spoof" if clip[0] == "s" else "bonafide",
                         "attack": "A1" if clip[0] == "s" else None, "cell_id": cell["cell_id"],
                         "corruption": cell["corruption"], "severity": cell["severity"],
                         "raw_score": None if failed else raw, "p_fake": None if failed else 1 / (1 + np.exp(-raw)),
                         "measured_snr_db": None, "error": "boom" if failed else None})
    root.mkdir(parents=True)
    write_metrics(root / "metrics.json", build_metrics(rows, CELLS, {"dataset": {"n": 6}}, n_bootstrap=0))
    return root


def test_noop_cell_with_a_failed_spoof_clip_reads_zero(tmp_path: Path) -> None:
    sweep = load_sweep(_noop_sweep_with_one_failed_spoof(tmp_path / "s"))
    attacks, cells, data, is_delta = attack_values(sweep)
    assert (attacks, cells, is_delta) == (["A1"], ["gain@1"], True)
    assert data.tolist() == [[0.0]]  # scores unchanged on every clip scored in both


def test_without_paired_deltas_the_matrix_shows_eer_not_an_unpaired_difference(tmp_path: Path) -> None:
    sweep = load_sweep(_noop_sweep_with_one_failed_spoof(tmp_path / "s"))
    del sweep.metrics["per_attack_delta"]  # a metrics.json written before the paired block existed
    attacks, cells, data, is_delta = attack_values(sweep)
    assert not is_delta
    assert data.tolist() == [[sweep.metrics["per_attack"]["gain@1"]["A1"]]]
