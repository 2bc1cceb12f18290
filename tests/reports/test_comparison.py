"""comparison.json: comparability, the intersection, the ranking score and paired significance (issue 11, part 3)."""

from __future__ import annotations

import csv
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from fake_sweep import make_sweep

from audiostress.metrics import build_metrics, compute_eer, operating_threshold, write_metrics
from audiostress.reports.comparison import compare_sweeps, write_comparison
from audiostress.reports.load import load_sweep


def _score_table(root: Path) -> dict[tuple[str, str], tuple[float, bool]]:
    """(clip, cell) -> (raw_score, spoof) of the rows scored without error, read straight from scores.csv."""
    with (root / "scores.csv").open(newline="", encoding="utf-8") as f:
        return {(r["clip_id"], r["cell_id"]): (float(r["raw_score"]), r["label"] == "spoof")
                for r in csv.DictReader(f) if not r["error"]}


def test_different_clip_sets_are_reported_and_the_intersection_is_used(tmp_path: Path) -> None:
    a = make_sweep(tmp_path / "a", detector="A", n_per_class=12, n_errors=0, seed=1)
    b = make_sweep(tmp_path / "b", detector="B", n_per_class=8, n_errors=0, seed=2, extra_cell="gain")
    out = compare_sweeps([a, b], n_bootstrap=50)
    what = {d["what"]: d for d in out["differences"]}
    assert set(what) == {"clips", "cells", "seed", "dataset"} and out["comparable"] is False
    assert what["clips"]["values"] == {"A": 24, "B": 16}
    assert "compared on the 16 in common" in what["clips"]["message"] and "clip-b08" in what["clips"]["message"]
    assert what["cells"]["values"] == {"A": 16, "B": 17} and "gain@2" in what["cells"]["message"]
    assert what["seed"]["values"] == {"A": 1, "B": 2}
    assert out["common_clips"] == 16 and out["common_cells"] == 16 and "gain@2" not in out["common_cell_ids"]
    # A's numbers are recomputed on the 16 common clips, not read from its own (24-clip) metrics.json
    table = _score_table(a)
    common = sorted({c for c, cell in table if cell == "clean" and (c.endswith(tuple(f"{i:02d}" for i in range(8))))})
    assert len(common) == 16
    clean_eer = compute_eer([table[(c, "clean")][0] for c in common], [table[(c, "clean")][1] for c in common])[0]
    cell_eers = [compute_eer([table[(c, cid)][0] for c in common], [table[(c, cid)][1] for c in common])[0]
                 for cid in out["common_cell_ids"]]
    entry = next(e for e in out["ranking"] if e["detector"] == "A")
    assert entry["n_clips"] == 16 and entry["n_cells"] == 16
    assert entry["clean_eer"] == clean_eer
    assert entry["score"] == pytest.approx(np.mean([clean_eer, *cell_eers]), abs=1e-12)
    assert all(p["n"] == 16 for p in out["pairwise"])


def test_identical_setups_are_comparable_and_failed_pairs_shrink_the_intersection(tmp_path: Path) -> None:
    a = make_sweep(tmp_path / "a", detector="A", n_errors=0)
    b = make_sweep(tmp_path / "b", detector="B", strength=2.0, n_errors=3)
    out = compare_sweeps([a, b], n_bootstrap=0)
    assert out["differences"] == [] and out["comparable"] is True
    assert out["dropped"] == {"cells": [], "clips_with_failures": 3} and out["common_clips"] == 21
    assert [p["eer_diff_ci95"] for p in out["pairwise"]] == [None] and out["pairwise"][0]["significant"] is None


def _write_sweep(root: Path, name: str, clean: np.ndarray, cells: dict[str, np.ndarray], y: np.ndarray) -> Path:
    """A sweep directory with exactly these raw scores (clean + 'noise@s' cells)."""
    specs = [{"cell_id": "clean", "corruption": "clean", "severity": 0, "params": {}, "family": "clean", "series": "clean"}]
    specs += [{"cell_id": cid, "corruption": "noise", "severity": int(cid.split("@")[1]), "params": {}, "family": "noise",
               "series": "noise"} for cid in cells]
    rows = []
    for cid, raw in {"clean": clean, **cells}.items():
        for i, r in enumerate(raw):
            rows.append({"clip_id": f"c{i:03d}", "label": "spoof" if y[i] else "bonafide", "attack": "", "cell_id": cid,
                         "corruption": cid.split("@")[0], "severity": 0 if cid == "clean" else int(cid.split("@")[1]),
                         "raw_score": repr(float(r)), "p_fake": repr(1 / (1 + math.exp(-float(r)))),
                         "measured_snr_db": "", "error": ""})
    root.mkdir(parents=True)
    prov = {"detector": {"name": name}, "seed": 0, "dataset": {"format": "folder", "n": int(y.size)}, "corrupt_rate": 16000}
    write_metrics(root / "metrics.json", build_metrics(rows, specs, prov, n_bootstrap=0))
    with (root / "scores.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return root


def _two_detectors(tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    rng = np.random.default_rng(7)
    y = np.arange(80) >= 40
    # "good": clean EER 0, corrupted cells a little worse.
    good_clean = np.where(y, 3.0, -3.0) + rng.normal(0, 0.3, y.size)
    good = {f"noise@{s}": good_clean + rng.normal(0, 0.8 * s, y.size) for s in (1, 2, 3)}
    # "broken": clean EER 0.8 (mostly inverted); under corruption its scores turn to noise, so its EER *falls*.
    broken_clean = np.where(y, -0.84, 0.84) + rng.normal(0, 1.0, y.size)
    broken = {f"noise@{s}": rng.normal(0, 1.0, y.size) for s in (1, 2, 3)}
    a = _write_sweep(tmp_path / "good", "good", good_clean, good, y)
    b = _write_sweep(tmp_path / "broken", "broken", broken_clean, broken, y)
    return a, b, y


def test_ranking_charges_clean_errors_so_a_broken_detector_cannot_win_by_negative_delta(tmp_path: Path) -> None:
    a, b, _ = _two_detectors(tmp_path)
    good, broken = (json.loads((p / "metrics.json").read_text()) for p in (a, b))
    assert good["clean"]["eer"] == 0.0 and broken["clean"]["eer"] == pytest.approx(0.8, abs=0.08)
    mean_delta = {n: np.mean([c["delta_eer"] for c in m["cells"]]) for n, m in (("good", good), ("broken", broken))}
    assert 0 < mean_delta["good"] < 0.2 and mean_delta["broken"] < 0  # ranking by mean ΔEER would put "broken" first
    out = compare_sweeps([b, a], n_bootstrap=200)
    assert [e["detector"] for e in out["ranking"]] == ["good", "broken"] and [e["rank"] for e in out["ranking"]] == [1, 2]
    top, low = out["ranking"]
    assert top["score"] == pytest.approx(np.mean([0.0, *(c["eer"] for c in good["cells"])]))
    assert low["score"] > 0.4 > top["score"]
    (pair,) = out["pairwise"]
    assert (pair["a"], pair["b"]) == ("good", "broken") and pair["significant"] is True and pair["eer_diff_ci95"][0] > 0
    assert pair["mcnemar_p_value"] < 1e-6 and top["significant_vs_next"] is True and low["significant_vs_next"] is None


def brute_mcnemar_p(b: int, c: int) -> float:
    """Exact permutation test: every discordant pair's sign flipped with probability 1/2, all 2**(b+c) ways."""
    n = b + c
    observed = abs(b - c)
    hits = sum(1 for signs in itertools.product((0, 1), repeat=n) if abs(2 * sum(signs) - n) >= observed)
    return hits / 2**n


def test_paired_significance_agrees_with_a_brute_force_bootstrap_and_permutation(tmp_path: Path) -> None:
    a = make_sweep(tmp_path / "a", detector="A", n_per_class=10, strength=0.6, n_errors=0, seed=3)
    b = make_sweep(tmp_path / "b", detector="B", n_per_class=10, strength=1.4, n_errors=0, seed=3)
    out = compare_sweeps([a, b], n_bootstrap=2000, seed=11)
    (pair,) = out["pairwise"]
    tables = {"A": _score_table(a), "B": _score_table(b)}
    clips = sorted({c for c, cell in tables["A"] if cell == "clean"})
    cells = ["clean", *out["common_cell_ids"]]
    y = np.array([tables["A"][(c, "clean")][1] for c in clips])
    raw = {n: {cell: np.array([t[(c, cell)][0] for c in clips]) for cell in cells} for n, t in tables.items()}

    def score(name: str, idx: np.ndarray) -> float:
        return float(np.mean([compute_eer(raw[name][cell][idx], y[idx])[0] for cell in cells]))

    everything = np.arange(y.size)
    scores = {e["detector"]: e["score"] for e in out["ranking"]}
    first, second = pair["a"], pair["b"]
    assert pair["eer_diff"] == pytest.approx(score(second, everything) - score(first, everything), abs=1e-12)
    assert scores[first] == pytest.approx(score(first, everything), abs=1e-12)
    # an independent stratified bootstrap, resample by resample, with its own generator
    rng = np.random.default_rng(2024)
    bona, spoof = np.flatnonzero(~y), np.flatnonzero(y)
    diffs = []
    for _ in range(1500):
        idx = np.concatenate([rng.choice(bona, bona.size), rng.choice(spoof, spoof.size)])
        diffs.append(score(second, idx) - score(first, idx))
    lo, hi = np.quantile(diffs, [0.025, 0.975])
    assert pair["eer_diff_ci95"] == pytest.approx([lo, hi], abs=0.03)
    if min(abs(lo), abs(hi)) > 0.03:
        assert pair["significant"] == bool(lo > 0 or hi < 0)
    # McNemar on the clean decisions, each detector at its own clean operating threshold on these clips
    right = {}
    for n in (first, second):
        s = raw[n]["clean"]
        t = operating_threshold(s, compute_eer(s, y)[1])
        right[n] = (s >= t) == y
    b_count = int((right[first] & ~right[second]).sum())
    c_count = int((~right[first] & right[second]).sum())
    assert (pair["mcnemar_b"], pair["mcnemar_c"]) == (b_count, c_count)
    assert pair["mcnemar_p_value"] == pytest.approx(min(1.0, brute_mcnemar_p(b_count, c_count)), abs=1e-12)


def test_a_reference_gives_ce_numbers_and_the_file_round_trips(tmp_path: Path) -> None:
    ref_dir = make_sweep(tmp_path / "ref", detector="R", seed=9)
    a = make_sweep(tmp_path / "a", detector="A", n_errors=0)
    b = make_sweep(tmp_path / "b", detector="B", strength=1.5, n_errors=0)
    out = compare_sweeps([a, b], reference=ref_dir / "metrics.json", n_bootstrap=20)
    for e in out["ranking"]:
        ces = [v["ce"] for v in e["corruption_errors"].values()]
        assert all(isinstance(v, float) for v in ces) and e["mce"] == pytest.approx(np.mean(ces))
        assert isinstance(e["relative_mce"], float)
    plain = compare_sweeps([a, b], n_bootstrap=0)
    assert all(e["mce"] is None and e["corruption_errors"] is None for e in plain["ranking"])
    path = write_comparison(out, tmp_path / "report")
    assert path.name == "comparison.json" and json.loads(path.read_text()) == out


def test_without_scores_csv_the_ranking_falls_back_to_metrics_json_and_says_so(tmp_path: Path) -> None:
    a = make_sweep(tmp_path / "a", detector="A")
    b = make_sweep(tmp_path / "b", detector="B", strength=2.0)
    (b / "scores.csv").unlink()
    out = compare_sweeps([load_sweep(a), load_sweep(b)], n_bootstrap=10)
    assert "scores" in {d["what"] for d in out["differences"]} and out["pairwise"] == [] and out["common_clips"] is None
    own = json.loads((a / "metrics.json").read_text())
    entry = next(e for e in out["ranking"] if e["detector"] == "A")
    assert entry["clean_eer"] == own["clean"]["eer"]
    with pytest.raises(ValueError, match="at least two sweeps"):
        compare_sweeps([a])
