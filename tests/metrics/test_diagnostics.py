"""metrics.json diagnostics (issue 10): small-n flags, per-attack counts, grouped errors, the inverted-score
warning, dataset rows that never became clips, and retried pairs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from audiostress.metrics.diagnostics import SMALL_N, group_errors, inverted_warning
from audiostress.metrics.summary import build_metrics
from audiostress.runners.export import DATA_EXPORTERS, ExportContext, run_exporters
from audiostress.runners.grid import clean_cell, make_cell
from audiostress.runners.rows import ScoreRow

CLEAN = {"cell_id": "clean", "corruption": "clean", "severity": 0, "params": {}, "family": None}
GAIN = {"cell_id": "gain@1", "corruption": "gain", "severity": 1, "params": {}, "family": "modification"}
MP3 = {"cell_id": "mp3@5", "corruption": "mp3", "severity": 5, "params": {}, "family": "codec"}


def _row(clip: str, cell: dict, raw: float | None, *, attack: str | None = None, error: str | None = None,
         **extra: object) -> dict:
    return {"clip_id": clip, "label": "spoof" if clip.startswith("s") else "bonafide", "attack": attack,
            "cell_id": cell["cell_id"], "corruption": cell["corruption"], "severity": cell["severity"],
            "raw_score": raw, "p_fake": None if raw is None else 1 / (1 + np.exp(-raw)), "measured_snr_db": None,
            "error": error, **extra}


def _sweep(n_bona: int, spoof_attacks: dict[str, int], *, invert: bool = False, seed: int = 0) -> list[dict]:
    """Rows for clean and gain@1: ``n_bona`` bona fide clips, ``spoof_attacks[a]`` spoof clips of attack ``a``."""
    rng = np.random.default_rng(seed)
    clips = [(f"b{i:02d}", None) for i in range(n_bona)]
    clips += [(f"s{a}{i:02d}", a) for a, k in spoof_attacks.items() for i in range(k)]
    rows = []
    for cell, noise in ((CLEAN, 0.0), (GAIN, 0.3)):
        for clip, attack in clips:
            sign = -1.0 if invert else 1.0
            raw = sign * (1.5 if clip.startswith("s") else -1.5) + rng.normal() + noise * rng.normal()
            rows.append(_row(clip, cell, float(raw), attack=attack))
    return rows


def test_small_n_is_set_on_clean_and_every_cell_by_class_counts() -> None:
    rows = _sweep(SMALL_N, {"A1": 6, "A2": 6})
    # One failed bona fide clip in gain@1: that cell pairs SMALL_N - 1 bona fide clips.
    bad = next(r for r in rows if r["cell_id"] == "gain@1" and r["clip_id"] == "b00")
    bad.update(raw_score=None, p_fake=None, error="decode failed")
    m = build_metrics(rows, [CLEAN, GAIN], {}, n_bootstrap=50)
    assert (m["clean"]["n_bonafide"], m["clean"]["n_spoof"], m["clean"]["small_n"]) == (10, 12, False)
    (cell,) = m["cells"]
    assert (cell["n_bonafide"], cell["n_spoof"], cell["small_n"]) == (9, 12, True)
    assert cell["eer_ci95"] is not None  # the CI is still computed, and flagged
    assert m["settings"]["small_n"] == SMALL_N == 10
    tiny = build_metrics(_sweep(3, {"A1": 2}), [CLEAN, GAIN], {}, n_bootstrap=50)
    assert tiny["clean"]["small_n"] is True and tiny["cells"][0]["small_n"] is True


def test_per_attack_counts_is_a_new_block_and_per_attack_keeps_its_shape() -> None:
    rows = _sweep(12, {"A1": 3, "A2": 11})
    bad = next(r for r in rows if r["cell_id"] == "gain@1" and r["clip_id"] == "sA200")
    bad.update(raw_score=None, p_fake=None, error="decode failed")
    m = build_metrics(rows, [CLEAN, GAIN], {}, n_bootstrap=0)
    assert m["per_attack_counts"] == {
        "clean": {"A1": {"n_bonafide": 12, "n_spoof": 3, "small_n": True},
                  "A2": {"n_bonafide": 12, "n_spoof": 11, "small_n": False}},
        "gain@1": {"A1": {"n_bonafide": 12, "n_spoof": 3, "small_n": True},
                   "A2": {"n_bonafide": 12, "n_spoof": 10, "small_n": False}},
    }
    assert all(isinstance(v, float) for block in m["per_attack"].values() for v in block.values())


def test_error_summary_groups_identical_messages_most_frequent_first() -> None:
    rows = _sweep(12, {"A1": 12})
    cells = [CLEAN, GAIN, MP3]
    clips = sorted({r["clip_id"] for r in rows})
    rows += [_row(c, MP3, None, error="EnCodec weights not found: set ENCODEC_WEIGHTS") for c in clips[:7]]
    rows += [_row(c, MP3, 0.1) for c in clips[7:]]
    for r in rows:
        if r["cell_id"] == "gain@1" and r["clip_id"] in ("b03", "b04"):
            r.update(raw_score=None, p_fake=None, error="decode failed")
    m = build_metrics(rows, cells, {}, n_bootstrap=0)
    assert m["error_summary"] == [
        {"error": "EnCodec weights not found: set ENCODEC_WEIGHTS", "count": 7, "cells": ["mp3@5"],
         "clip_ids": clips[:5]},
        {"error": "decode failed", "count": 2, "cells": ["gain@1"], "clip_ids": ["b03", "b04"]},
    ]
    assert len(m["errors"]) == 9  # the per-item list is kept as it was


def test_group_errors_lists_first_distinct_cells_and_skips_null_clip_ids() -> None:
    errors = [{"clip_id": f"c{i}", "cell_id": f"cell{i % 7}", "error": "x"} for i in range(12)]
    errors.append({"clip_id": None, "cell_id": "*", "error": "x"})
    (group,) = group_errors(errors)
    assert group == {"error": "x", "count": 13, "cells": ["cell0", "cell1", "cell2", "cell3", "cell4"],
                     "clip_ids": ["c0", "c1", "c2", "c3", "c4"]}


def test_inverted_scores_add_a_warning() -> None:
    good = build_metrics(_sweep(12, {"A1": 12}), [CLEAN, GAIN], {}, n_bootstrap=0)
    assert good["warnings"] == [] and good["clean"]["auroc"] > 0.5
    bad = build_metrics(_sweep(12, {"A1": 12}, invert=True), [CLEAN, GAIN], {}, n_bootstrap=0)
    assert bad["clean"]["auroc"] < 0.5 and bad["clean"]["eer"] > 0.5
    (warning,) = bad["warnings"]
    assert "look inverted" in warning and "fake_index" in warning and "higher_is_fake" in warning
    assert f"AUROC {bad['clean']['auroc']:.3f}" in warning
    assert inverted_warning({"auroc": 0.6, "eer": 0.55}) is not None  # EER above 0.5 alone is enough
    assert inverted_warning({"auroc": None, "eer": None}) is None  # one class only: nothing to judge


PROBLEMS = [
    {"row": "list.csv:3", "message": "audio file not found: /data/x.wav"},
    {"row": "list.csv:4", "message": "unknown label 'maybe'", "clip_id": "clip-9"},
]


def test_dataset_problems_are_errors_with_clip_ids_and_count_in_coverage() -> None:
    rows = _sweep(4, {"A1": 4})
    provenance = {"dataset": {"n": 8}, "dataset_problems": PROBLEMS}
    m = build_metrics(rows, [CLEAN, GAIN], provenance, n_bootstrap=0)
    skipped = [e for e in m["errors"] if e["cell_id"] == "*"]
    assert skipped == [
        {"clip_id": None, "cell_id": "*", "error": "dataset row skipped: audio file not found: /data/x.wav",
         "row": "list.csv:3"},
        {"clip_id": "clip-9", "cell_id": "*", "error": "dataset row skipped: unknown label 'maybe'",
         "row": "list.csv:4"},
    ]
    cov = m["coverage"]
    assert (cov["clips"], cov["clips_expected"], cov["clips_skipped"]) == (8, 10, 2)
    assert (cov["pairs_expected"], cov["pairs_scored"], cov["pairs_failed"]) == (20, 16, 0)
    assert (cov["pairs_skipped"], cov["pairs_missing"], cov["fraction_scored"]) == (4, 0, 16 / 20)
    assert [g["count"] for g in m["error_summary"]] == [1, 1]


def test_the_metrics_exporter_writes_dataset_problems_once(tmp_path: Path) -> None:
    rows = [ScoreRow(**{**r, "elapsed_ms": 1.0}) for r in _sweep(4, {"A1": 4})]
    cells = [clean_cell().to_dict(), make_cell("gain", 1).to_dict()]
    ctx = ExportContext(out=tmp_path, rows=rows, cells=cells, codec_pair=None, seed=0, n_bootstrap=0,
                        provenance={"dataset": {"n": 8}, "dataset_problems": PROBLEMS})
    run_exporters(ctx, DATA_EXPORTERS)
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert [(e["clip_id"], e.get("row")) for e in written["errors"]] == [(None, "list.csv:3"), ("clip-9", "list.csv:4")]
    assert written["coverage"]["clips_expected"] == 10


def test_retried_rows_are_counted_and_rows_without_retries_read_as_zero() -> None:
    rows = _sweep(4, {"A1": 4})
    assert build_metrics(rows, [CLEAN, GAIN], {}, n_bootstrap=0)["coverage"]["pairs_retried"] == 0
    rows[0]["retries"] = 1
    rows[5]["retries"] = "2"  # as a CSV or SQL reader may hand it back
    rows[6]["retries"] = None
    rows[7].update(retries=1, raw_score=None, p_fake=None, error="RuntimeError: still failing")  # failed after a retry
    assert build_metrics(rows, [CLEAN, GAIN], {}, n_bootstrap=0)["coverage"]["pairs_retried"] == 3
