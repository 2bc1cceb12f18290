"""build_metrics on synthetic row tables: schema, pairing, hand-computed values, JSON safety."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from audiostress.metrics.bootstrap import bootstrap_delta_eer_ci, bootstrap_eer_ci
from audiostress.metrics.cross_cell import corruption_error_block
from audiostress.metrics.functional import compute_eer, corruption_error
from audiostress.metrics.summary import build_metrics, write_metrics

#: Values recomputed here with the public functions on hand-picked subsets agree exactly
#: up to float rounding.
FLOAT_TOL = 1e-12
N_BOOT = 200

CLEAN = {"cell_id": "clean", "corruption": "clean", "severity": 0, "params": {}, "family": None}


def _cell(cell_id: str, corruption: str, severity: int | None, family: str = "noise", **params: Any) -> dict:
    return {"cell_id": cell_id, "corruption": corruption, "severity": severity, "params": params, "family": family}


def _row(clip: str, cell: dict, raw: float | None, *, snr: float | None = 20.0, error: str | None = None) -> dict:
    spoof = clip.startswith("s")
    return {
        "clip_id": clip,
        "label": "spoof" if spoof else "bonafide",
        "attack": ("A1" if int(clip[1:]) % 2 else "A2") if spoof else None,
        "cell_id": cell["cell_id"],
        "corruption": cell["corruption"],
        "severity": cell["severity"],
        "raw_score": raw,
        "p_fake": None if raw is None else 1.0 / (1.0 + math.exp(-raw)),
        "measured_snr_db": None if cell["cell_id"] == "clean" else snr,
        "error": error,
    }


CLIPS = [f"b{i}" for i in range(10)] + [f"s{i}" for i in range(10)]
LABELS = np.array([c.startswith("s") for c in CLIPS])


def _scores(seed: int, shift: float) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=len(CLIPS)) + 1.5 * LABELS - shift * LABELS
    return dict(zip(CLIPS, raw.tolist()))


def make_sweep() -> tuple[list[dict], list[dict]]:
    """clean + gaussian_noise@1..2 + low_pass@5 with failures sprinkled in."""
    cells = [
        CLEAN,
        _cell("gaussian_noise@1", "gaussian_noise", 1),
        _cell("gaussian_noise@2", "gaussian_noise", 2),
        _cell("low_pass@5", "low_pass", 5, family="filter"),
    ]
    rows = []
    for k, cell in enumerate(cells):
        scores = _scores(k, 0.5 * k)
        for clip in CLIPS:
            error = None
            if cell["cell_id"] == "clean" and clip == "b0":
                error = "DecodeError: truncated file"
            if cell["cell_id"] == "gaussian_noise@1" and clip == "s3":
                error = "RuntimeError: detector failed"
            snr = math.inf if clip == "b1" else 10.0 + k + int(clip[1:])
            rows.append(_row(clip, cell, None if error else scores[clip], snr=snr, error=error))
    return rows, cells


@pytest.fixture(scope="module")
def sweep() -> tuple[list[dict], list[dict], dict]:
    rows, cells = make_sweep()
    metrics = build_metrics(rows, cells, {"detector": {"spec": "toy"}}, n_bootstrap=N_BOOT, seed=3)
    return rows, cells, metrics


def _paired(rows: list[dict], cell_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ok = {(r["clip_id"], r["cell_id"]): r["raw_score"] for r in rows if not r["error"]}
    ids = sorted(c for c in CLIPS if (c, "clean") in ok and (c, cell_id) in ok)
    y = np.array([c.startswith("s") for c in ids])
    return np.array([ok[(c, "clean")] for c in ids]), np.array([ok[(c, cell_id)] for c in ids]), y


FLOAT_KEYS_CELL = (
    "eer", "delta_eer", "auroc", "min_dcf", "drift_mean_abs", "drift_mean_signed", "flip_rate",
    "fpr_at_clean_threshold", "fnr_at_clean_threshold", "measured_snr_db",
)
RATE_KEYS_CELL = ("eer", "flip_rate", "fpr_at_clean_threshold", "fnr_at_clean_threshold", "drift_mean_abs")


def test_schema_keys_and_types_follow_design(sweep) -> None:
    _, _, m = sweep
    assert m["schema"] == 1
    for key in ("audiostress", "seed", "detector", "dataset", "grid", "torch", "codecs", "machine", "created"):
        assert key in m["provenance"]
    assert m["provenance"]["detector"] == {"spec": "toy"} and m["provenance"]["seed"] == 3
    clean = m["clean"]
    for key in ("n", "n_bonafide", "n_spoof"):
        assert type(clean[key]) is int
    for key in ("eer", "threshold", "auroc", "min_dcf"):
        assert type(clean[key]) is float
    assert isinstance(m["cells"], list) and len(m["cells"]) == 3
    for cell in m["cells"]:
        assert type(cell["cell_id"]) is str and type(cell["corruption"]) is str
        assert type(cell["severity"]) is int and isinstance(cell["params"], dict)
        assert type(cell["n"]) is int and type(cell["errors"]) is int
        for key in FLOAT_KEYS_CELL:
            assert type(cell[key]) is float, key
        for key in RATE_KEYS_CELL:
            assert 0.0 <= cell[key] <= 1.0, key
        assert isinstance(cell["eer_ci95"], list) and len(cell["eer_ci95"]) == 2
        assert all(type(v) is float for v in cell["eer_ci95"])
    assert isinstance(m["errors"], list)
    for err in m["errors"]:
        assert set(err) == {"clip_id", "cell_id", "error"} and all(type(v) is str for v in err.values())


def test_json_safe_with_inf_snr_and_nan_scores() -> None:
    rows, cells = make_sweep()
    rows.append(_row("s10", CLEAN, 1.0))
    rows.append(_row("s10", cells[1], float("nan")))  # no error text, but a NaN score
    m = build_metrics(rows, cells, {"created": float("inf")}, n_bootstrap=N_BOOT)
    json.dumps(m, allow_nan=False)
    assert m["provenance"]["created"] is None
    (err,) = [e for e in m["errors"] if e["clip_id"] == "s10"]
    assert err["cell_id"] == "gaussian_noise@1" and "non-finite" in err["error"]


def test_pairing_drops_errored_clips_and_reports_coverage(sweep) -> None:
    rows, _, m = sweep
    by_id = {c["cell_id"]: c for c in m["cells"]}
    assert m["clean"]["n"] == 19 and m["clean"]["errors"] == 1
    # b0 failed clean: dropped from every cell; s3 failed only in gaussian_noise@1.
    assert by_id["gaussian_noise@1"]["n"] == 18 and by_id["gaussian_noise@1"]["errors"] == 1
    assert by_id["gaussian_noise@1"]["n_unpaired"] == 1
    assert by_id["gaussian_noise@2"]["n"] == 19 and by_id["gaussian_noise@2"]["errors"] == 0
    assert m["errors"] == [
        {"clip_id": "b0", "cell_id": "clean", "error": "DecodeError: truncated file"},
        {"clip_id": "s3", "cell_id": "gaussian_noise@1", "error": "RuntimeError: detector failed"},
    ]
    cov = m["coverage"]
    assert (cov["clips"], cov["cells"], cov["pairs_expected"]) == (20, 4, 80)
    assert (cov["pairs_scored"], cov["pairs_failed"], cov["pairs_missing"]) == (78, 2, 0)
    for cell_id in ("gaussian_noise@1", "low_pass@5"):
        clean_raw, cell_raw, y = _paired(rows, cell_id)
        expected = compute_eer(cell_raw, y)[0] - compute_eer(clean_raw, y)[0]
        assert by_id[cell_id]["eer"] == pytest.approx(compute_eer(cell_raw, y)[0], abs=FLOAT_TOL)
        assert by_id[cell_id]["delta_eer"] == pytest.approx(expected, abs=FLOAT_TOL)


def test_clean_cell_is_reported_once_not_in_cells(sweep) -> None:
    _, _, m = sweep
    assert "clean" not in [c["cell_id"] for c in m["cells"]]
    assert m["clean"]["eer"] == pytest.approx(
        compute_eer([r["raw_score"] for r in sweep[0] if r["cell_id"] == "clean" and not r["error"]],
                    [r["label"] == "spoof" for r in sweep[0] if r["cell_id"] == "clean" and not r["error"]])[0]
    )


def test_bootstrap_cis_match_public_functions_on_paired_clips(sweep) -> None:
    rows, _, m = sweep
    cell = next(c for c in m["cells"] if c["cell_id"] == "gaussian_noise@1")
    clean_raw, cell_raw, y = _paired(rows, "gaussian_noise@1")
    assert cell["eer_ci95"] == list(bootstrap_eer_ci(cell_raw, y, n=N_BOOT, seed=3))
    assert cell["delta_eer_ci95"] == list(bootstrap_delta_eer_ci(clean_raw, cell_raw, y, n=N_BOOT, seed=3))


def test_measured_snr_is_median_of_finite_values(sweep) -> None:
    _, _, m = sweep
    cell = next(c for c in m["cells"] if c["cell_id"] == "gaussian_noise@2")
    # k = 2, clips b2..b9 and s0..s9 paired (b0 failed clean, b1 has +inf)
    finite = [10.0 + 2 + i for i in range(2, 10)] + [10.0 + 2 + i for i in range(10)]
    assert cell["measured_snr_db"] == pytest.approx(float(np.median(finite)))


def test_flip_rate_and_fixed_threshold_rates_hand_computed() -> None:
    cells = [CLEAN, _cell("gain@3", "gain", 3, family="modification")]
    clean = {"b0": 0.1, "b1": 0.2, "b2": 0.3, "s0": 0.7, "s1": 0.8, "s2": 0.9}
    cell = {"b0": 0.75, "b1": 0.2, "b2": 0.3, "s0": 0.45, "s1": 0.8, "s2": 0.95}
    rows = [_row(c, CLEAN, v) for c, v in clean.items()] + [_row(c, cells[1], v) for c, v in cell.items()]
    m = build_metrics(rows, cells, {}, n_bootstrap=0)
    # Perfect separation: EER 0 at the highest threshold with 0 errors, the lowest spoof score 0.7; the
    # operating threshold is the midpoint of the gap 0.3 .. 0.7.
    assert m["clean"]["eer"] == 0.0 and m["clean"]["eer_threshold"] == 0.7
    assert m["clean"]["threshold"] == pytest.approx(0.5, abs=FLOAT_TOL)
    c = m["cells"][0]
    # At 0.5: b0 flips to spoof (0.75), s0 flips to bona fide (0.45) -> 2 of 6.
    assert c["flip_rate"] == pytest.approx(2 / 6, abs=FLOAT_TOL)
    assert c["fpr_at_clean_threshold"] == pytest.approx(1 / 3, abs=FLOAT_TOL)
    assert c["fnr_at_clean_threshold"] == pytest.approx(1 / 3, abs=FLOAT_TOL)
    p = lambda v: 1.0 / (1.0 + math.exp(-v))  # noqa: E731
    diffs = [p(cell[k]) - p(clean[k]) for k in clean]
    assert c["drift_mean_abs"] == pytest.approx(np.mean(np.abs(diffs)), abs=FLOAT_TOL)
    assert c["drift_mean_signed"] == pytest.approx(np.mean(diffs), abs=FLOAT_TOL)
    assert c["drift_mean_signed_bonafide"] == pytest.approx(np.mean(diffs[:3]), abs=FLOAT_TOL)
    assert c["drift_mean_signed_spoof"] == pytest.approx(np.mean(diffs[3:]), abs=FLOAT_TOL)
    assert c["eer_ci95"] is None  # bootstrap disabled


def test_codec_pair_delta_hand_computed() -> None:
    cells = [CLEAN, _cell("mp3@128", "mp3", None, "codec", bitrate_kbps=128),
             _cell("aac@128", "aac", None, "codec", bitrate_kbps=128)]
    raw = {"clean": [0.0, 1.0, -1.0, 2.0], "mp3@128": [0.5, 1.0, -1.0, 0.0], "aac@128": [-0.5, 1.5, -1.0, 9.0]}
    clips = ["b0", "b1", "s0", "s1"]
    rows = []
    for cell in cells:
        for clip, v in zip(clips, raw[cell["cell_id"]]):
            error = "EncodeError" if (cell["cell_id"] == "aac@128" and clip == "s1") else None
            rows.append(_row(clip, cell, None if error else v, error=error))
    m = build_metrics(rows, cells, {}, codec_pair_cells=["clean", "mp3@128", "aac@128"], n_bootstrap=0)
    p = lambda v: 1.0 / (1.0 + math.exp(-v))  # noqa: E731
    deltas = [p(0.5) - p(-0.5), p(1.5) - p(1.0), 0.0]  # s1 dropped: failed in aac@128
    block = m["codec_pair"]
    assert block["n"] == 3 and block["cells"] == ["clean", "mp3@128", "aac@128"]
    assert block["mean"] == pytest.approx(np.mean(deltas), abs=FLOAT_TOL)
    assert block["max"] == pytest.approx(max(deltas), abs=FLOAT_TOL)
    assert (block["gate_mean"], block["gate_max"]) == (0.15, 0.35)
    assert block["pass"] is True  # mean 0.11 <= 0.15 and max 0.245 <= 0.35
    # one clip drifting by more than 0.35 fails the max gate
    rows.append(_row("b2", CLEAN, -3.0))
    rows.append(_row("b2", cells[1], 3.0))
    rows.append(_row("b2", cells[2], 0.0))
    m = build_metrics(rows, cells, {}, codec_pair_cells=["clean", "mp3@128", "aac@128"], n_bootstrap=0)
    assert m["codec_pair"]["n"] == 4 and m["codec_pair"]["pass"] is False


def test_missing_class_gives_null_eer_with_note_not_a_crash() -> None:
    rows, cells = make_sweep()
    for r in rows:
        if r["cell_id"] == "low_pass@5" and r["label"] == "spoof":
            r["error"], r["raw_score"], r["p_fake"] = "Timeout", None, None
    m = build_metrics(rows, cells, {}, n_bootstrap=N_BOOT)
    cell = next(c for c in m["cells"] if c["cell_id"] == "low_pass@5")
    assert cell["eer"] is None and cell["delta_eer"] is None and cell["eer_ci95"] is None
    assert "n_spoof=0" in cell["note"]
    assert cell["n"] == 9 and cell["errors"] == 10
    assert cell["fpr_at_clean_threshold"] is not None and cell["fnr_at_clean_threshold"] is None
    json.dumps(m, allow_nan=False)


def test_no_clean_cell_does_not_crash() -> None:
    rows, cells = make_sweep()
    rows = [r for r in rows if r["cell_id"] != "clean"]
    m = build_metrics(rows, cells[1:], {}, n_bootstrap=0)
    assert m["clean"]["eer"] is None and "no clean" in m["clean"]["note"]
    assert all(c["eer"] is None and c["note"] for c in m["cells"])


def test_per_attack_eer_uses_attack_spoofs_plus_all_bonafide(sweep) -> None:
    rows, _, m = sweep
    clean_raw, cell_raw, y = _paired(rows, "low_pass@5")
    ids = sorted(c for c in CLIPS if c != "b0")
    attack = np.array([(int(c[1:]) % 2 == 1) if c.startswith("s") else False for c in ids])  # A1
    keep = ~y | attack
    assert m["per_attack"]["low_pass@5"]["A1"] == pytest.approx(compute_eer(cell_raw[keep], y[keep])[0], abs=FLOAT_TOL)
    keep2 = ~y | (y & ~attack)
    assert m["per_attack"]["clean"]["A2"] == pytest.approx(compute_eer(clean_raw[keep2], y[keep2])[0], abs=FLOAT_TOL)
    assert set(m["per_attack"]) == {"clean", "gaussian_noise@1", "gaussian_noise@2", "low_pass@5"}


def test_optional_blocks_absent_without_inputs(sweep) -> None:
    _, _, m = sweep
    assert m["codec_pair"] is None and m["corruption_errors"] is None
    assert m["corruption_error_reference"] is None
    rows, cells = make_sweep()
    for r in rows:
        r["attack"] = None
    assert build_metrics(rows, cells, {}, n_bootstrap=0)["per_attack"] == {}


def test_corruption_errors_against_reference(sweep) -> None:
    rows, cells, m = sweep
    ref_rows = [dict(r) for r in rows]
    for r in ref_rows:
        if r["raw_score"] is not None and r["cell_id"] != "clean":
            r["raw_score"] *= -1.0  # a much worse reference on corrupted audio
    ref = build_metrics(ref_rows, cells, {"detector": {"spec": "ref"}}, n_bootstrap=0)
    both = build_metrics(rows, cells, {}, reference=ref, n_bootstrap=0)
    out, ref_summary = both["corruption_errors"], both["corruption_error_reference"]
    by_id = {c["cell_id"]: c for c in m["cells"]}
    ref_by_id = {c["cell_id"]: c for c in ref["cells"]}
    ce, rel = corruption_error(
        {1: by_id["gaussian_noise@1"]["eer"], 2: by_id["gaussian_noise@2"]["eer"]},
        {1: ref_by_id["gaussian_noise@1"]["eer"], 2: ref_by_id["gaussian_noise@2"]["eer"]},
        m["clean"]["eer"], ref["clean"]["eer"],
    )
    entry = out["gaussian_noise"]
    assert entry["ce"] == pytest.approx(ce, abs=FLOAT_TOL) and entry["relative_ce"] == pytest.approx(rel, abs=FLOAT_TOL)
    assert entry["severities"] == [1, 2] and entry["missing_severities"] == [3, 4, 5]
    assert ref_summary["detector"] == {"spec": "ref"} and ref_summary["clean_eer"] == ref["clean"]["eer"]
    assert set(out) == {"gaussian_noise", "low_pass"}
    assert ref_summary["mce"] == pytest.approx((out["gaussian_noise"]["ce"] + out["low_pass"]["ce"]) / 2)


def test_corruption_errors_keep_tables_apart_and_skip_overrides() -> None:
    def cell(cell_id: str, corruption: str, severity: int, eer: float) -> dict:
        return {"cell_id": cell_id, "corruption": corruption, "severity": severity, "eer": eer}

    mine = [cell("opus@2", "opus", 2, 0.2), cell("opus[asvspoof5_nb]@2", "opus", 2, 0.4),
            cell("opus@2{bitrate_kbps=6}", "opus", 2, 0.9), cell("mp3{bitrate_kbps=128}", "mp3", 0, 0.3)]
    ref = {"clean": {"eer": 0.1}, "cells": [cell("opus@2", "opus", 2, 0.4), cell("opus[asvspoof5_nb]@2", "opus", 2, 0.5)]}
    per, summary = corruption_error_block(mine, 0.1, ref)
    assert set(per) == {"opus", "opus[asvspoof5_nb]"}
    assert per["opus"]["ce"] == pytest.approx(0.2 / 0.4) and per["opus[asvspoof5_nb]"]["ce"] == pytest.approx(0.4 / 0.5)
    assert per["opus"]["relative_ce"] == pytest.approx((0.2 - 0.1) / (0.4 - 0.1))
    assert summary["mce"] == pytest.approx((0.5 + 0.8) / 2)


def test_write_metrics_is_sorted_stable_json(tmp_path, sweep) -> None:
    _, _, m = sweep
    path = tmp_path / "out" / "metrics.json"
    write_metrics(path, m)
    first = path.read_bytes()
    write_metrics(path, json.loads(first))
    assert path.read_bytes() == first
    assert json.loads(first) == m
    top_keys = json.loads(first, object_pairs_hook=lambda pairs: [k for k, _ in pairs])
    assert top_keys == sorted(top_keys)  # the outermost object's keys, in file order


def test_build_is_deterministic(sweep) -> None:
    rows, cells, m = sweep
    again = build_metrics(list(reversed(rows)), cells, {"detector": {"spec": "toy"}}, n_bootstrap=N_BOOT, seed=3)
    assert again == m


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda rows: rows.append(dict(rows[0])), "duplicate row"),
        (lambda rows: rows[0].update(label="fake"), "label"),
    ],
)
def test_bad_rows_raise(mutate, match) -> None:
    rows, cells = make_sweep()
    mutate(rows)
    with pytest.raises(ValueError, match=match):
        build_metrics(rows, cells, {}, n_bootstrap=0)


def test_per_attack_delta_is_paired_when_a_cell_loses_a_clip() -> None:
    # gain@1 leaves every score unchanged but fails on spoof clip s1 (attack A1): the paired
    # per-attack ΔEER must be exactly 0, although EER(cell, A1) differs from EER(all clean clips, A1).
    cells = [CLEAN, _cell("gain@1", "gain", 1)]
    clean_scores = {"b0": -1.0, "b1": -0.5, "b2": 0.2, "s1": 0.1, "s3": 1.0, "s5": 2.0}
    rows = [
        _row(clip, cell, None if (cell["cell_id"] == "gain@1" and clip == "s1") else raw,
             error="boom" if (cell["cell_id"] == "gain@1" and clip == "s1") else None)
        for cell in cells for clip, raw in clean_scores.items()
    ]
    m = build_metrics(rows, cells, {}, n_bootstrap=0)
    assert m["per_attack"]["gain@1"]["A1"] != m["per_attack"]["clean"]["A1"]  # unpaired sets differ
    assert m["per_attack_delta"] == {"gain@1": {"A1": 0.0}}
    assert m["cells"][0]["delta_eer"] == 0.0


def test_per_attack_delta_matches_paired_recomputation(sweep) -> None:
    rows, _, m = sweep
    assert set(m["per_attack_delta"]) == {"gaussian_noise@1", "gaussian_noise@2", "low_pass@5"}
    clean_raw, cell_raw, y = _paired(rows, "gaussian_noise@1")
    ids = sorted(c for c in CLIPS if c not in ("b0", "s3"))
    a1 = np.array([c.startswith("s") and int(c[1:]) % 2 == 1 for c in ids])
    keep = ~y | a1
    expected = compute_eer(cell_raw[keep], y[keep])[0] - compute_eer(clean_raw[keep], y[keep])[0]
    assert m["per_attack_delta"]["gaussian_noise@1"]["A1"] == pytest.approx(expected, abs=FLOAT_TOL)


def test_coverage_counts_clips_without_rows_against_the_dataset_size() -> None:
    # 5 of 20 dataset clips were scored in every cell (a shard, or a sweep that never reached the rest).
    rows, cells = make_sweep()
    kept = {"b1", "b2", "s1", "s2", "s4"}
    rows = [r for r in rows if r["clip_id"] in kept]
    cov = build_metrics(rows, cells, {"dataset": {"n": 20}}, n_bootstrap=0)["coverage"]
    assert (cov["clips"], cov["clips_expected"], cov["pairs_expected"]) == (5, 20, 80)
    assert (cov["pairs_scored"], cov["pairs_failed"], cov["pairs_missing"]) == (20, 0, 60)
    assert cov["fraction_scored"] == 0.25
    cov = build_metrics(rows, cells, {}, n_bootstrap=0)["coverage"]  # no dataset size recorded: rows only
    assert (cov["clips_expected"], cov["pairs_expected"], cov["pairs_missing"]) == (None, 20, 0)
