"""Issue 11 metrics: Cllr, CIs for drift and flip rate, the card's threshold, latency, per-clip fragility."""

from __future__ import annotations

import math

import numpy as np
import pytest

from audiostress.metrics import build_metrics, cllr
from audiostress.metrics.bootstrap import resample_weights

N = 14  # clips per class


def _clips() -> list[tuple[str, bool]]:
    return [(f"b{i:02d}", False) for i in range(N)] + [(f"s{i:02d}", True) for i in range(N)]


CELLS = [
    {"cell_id": "clean", "corruption": "clean", "severity": 0, "params": {}, "series": "clean"},
    {"cell_id": "noise@1", "corruption": "noise", "severity": 1, "params": {}, "series": "noise"},
    {"cell_id": "noise@2", "corruption": "noise", "severity": 2, "params": {}, "series": "noise"},
    {"cell_id": "mp3@3", "corruption": "mp3", "severity": 3, "params": {}, "series": "mp3"},
    {"cell_id": "mp3{bitrate_kbps=8}", "corruption": "mp3", "severity": None, "params": {"bitrate_kbps": 8},
     "series": "mp3{bitrate_kbps=8}"},
]


def _scores(seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.array([s for _, s in _clips()])
    clean = np.where(y, 1.2, -1.2) + rng.normal(0, 1.0, y.size)
    out = {"clean": clean}
    for k, cell in enumerate(CELLS[1:], start=1):
        out[cell["cell_id"]] = clean + rng.normal(0, 0.5 * k, y.size) - 0.6 * k * y
    return out


def _rows(scores: dict[str, np.ndarray], timing: bool = False) -> list[dict]:
    rows = []
    for cell in CELLS:
        for i, (clip, spoof) in enumerate(_clips()):
            r = float(scores[cell["cell_id"]][i])
            row = {"clip_id": clip, "label": "spoof" if spoof else "bonafide", "attack": None, "cell_id": cell["cell_id"],
                   "corruption": cell["corruption"], "severity": cell["severity"], "raw_score": r,
                   "p_fake": 1.0 / (1.0 + math.exp(-r)), "measured_snr_db": None, "error": None}
            if timing:
                row["detect_ms"] = 2.0 + i % 3 + (5.0 if cell["cell_id"] == "mp3@3" else 0.0)
                row["audio_s"] = 1.0 + 0.5 * (i % 4)
            rows.append(row)
    return rows


def _p(raw: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-raw))


def reference_cllr(p: list[float], spoof: list[bool], eps: float = 1e-12) -> float:
    """The ANCHORS formula, clip by clip in plain Python."""
    spoof_terms, bona_terms = [], []
    for q, s in zip(p, spoof):
        q = min(max(q, eps), 1.0 - eps)
        llr = math.log(q / (1.0 - q))
        if s:
            spoof_terms.append(math.log2(1.0 + math.exp(-llr)))
        else:
            bona_terms.append(math.log2(1.0 + math.exp(llr)))
    return 0.5 * (sum(spoof_terms) / len(spoof_terms) + sum(bona_terms) / len(bona_terms))


def test_cllr_agrees_with_the_reference_formula_on_random_and_extreme_scores() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(2, 40))
        y = rng.random(n) < 0.5
        y[0], y[1] = True, False
        p = rng.random(n) ** rng.uniform(0.2, 5.0)
        assert cllr(p, y) == pytest.approx(reference_cllr(p.tolist(), y.tolist()), rel=1e-12, abs=1e-12)
    assert cllr([0.5, 0.5, 0.5], [0, 1, 1]) == pytest.approx(1.0)
    assert cllr([0.0, 1.0], [0, 1]) == pytest.approx(reference_cllr([0.0, 1.0], [False, True]))  # clipped, ~0
    assert cllr([1.0, 0.0], [0, 1]) > 30  # confidently wrong costs many bits, but stays finite
    with pytest.raises(ValueError, match="both classes"):
        cllr([0.2, 0.3], [1, 1])


def test_cllr_is_in_the_clean_block_and_every_cell() -> None:
    scores = _scores()
    m = build_metrics(_rows(scores), CELLS, {}, n_bootstrap=0)
    spoof = [s for _, s in _clips()]
    assert m["clean"]["cllr"] == pytest.approx(reference_cllr(_p(scores["clean"]).tolist(), spoof), rel=1e-12)
    for cell in m["cells"]:
        want = reference_cllr(_p(scores[cell["cell_id"]]).tolist(), spoof)
        assert cell["cllr"] == pytest.approx(want, rel=1e-12), cell["cell_id"]


def _brute_ci(values: np.ndarray, weights: np.ndarray) -> list[float]:
    """Each resample built explicitly (clip indices repeated) and its mean taken; percentile interval."""
    stats = [values[np.repeat(np.arange(values.size), w)].mean() for w in weights]
    lo, hi = np.quantile(stats, [0.025, 0.975])
    return [float(lo), float(hi)]


def test_drift_and_flip_ci_come_from_the_eer_resamples() -> None:
    scores = _scores()
    m = build_metrics(_rows(scores), CELLS, {}, n_bootstrap=300, seed=5)
    y = np.array([s for _, s in _clips()])
    weights = resample_weights(y, n=300, seed=5)  # the EER CI's stratified draws (clips in id order)
    t = m["clean"]["threshold"]
    for cell in m["cells"]:
        cell_raw = scores[cell["cell_id"]]
        drift = np.abs(_p(cell_raw) - _p(scores["clean"]))
        flips = ((scores["clean"] >= t) != (cell_raw >= t)).astype(float)
        assert cell["drift_ci95"] == pytest.approx(_brute_ci(drift, weights), abs=1e-12)
        assert cell["flip_rate_ci95"] == pytest.approx(_brute_ci(flips, weights), abs=1e-12)
        lo, hi = cell["flip_rate_ci95"]
        assert lo <= cell["flip_rate"] <= hi and lo < hi
    none = build_metrics(_rows(scores), CELLS, {}, n_bootstrap=0)["cells"][0]
    assert (none["drift_ci95"], none["flip_rate_ci95"]) == (None, None)


def test_a_declared_threshold_gives_accuracy_fpr_fnr_on_p_fake() -> None:
    scores = _scores()
    threshold = 0.7
    prov = {"detector": {"name": "d", "output": {"threshold": threshold}}}
    m = build_metrics(_rows(scores), CELLS, prov, n_bootstrap=0)
    y = np.array([s for _, s in _clips()])
    for block, cid in [(m["clean"], "clean"), *((c, c["cell_id"]) for c in m["cells"])]:
        called = [q >= threshold for q in _p(scores[cid]).tolist()]
        fp = sum(c and not s for c, s in zip(called, y))
        fn = sum(s and not c for c, s in zip(called, y))
        assert block["accuracy_at_threshold"] == pytest.approx(1 - (fp + fn) / y.size, abs=1e-15), cid
        assert block["fpr_at_threshold"] == pytest.approx(fp / N, abs=1e-15), cid
        assert block["fnr_at_threshold"] == pytest.approx(fn / N, abs=1e-15), cid
    assert m["settings"]["declared_threshold"] == threshold
    plain = build_metrics(_rows(scores), CELLS, {"detector": {"output": {"threshold": None}}}, n_bootstrap=0)
    assert [plain["clean"][k] for k in ("accuracy_at_threshold", "fpr_at_threshold", "fnr_at_threshold")] == [None] * 3
    with pytest.raises(ValueError, match=r"output.threshold .* got 1.5"):
        build_metrics(_rows(scores), CELLS, {"detector": {"output": {"threshold": 1.5}}}, n_bootstrap=0)


def test_latency_is_detector_ms_per_audio_second_per_cell_and_overall() -> None:
    rows = _rows(_scores(), timing=True)
    m = build_metrics(rows, CELLS, {}, n_bootstrap=0)

    def expect(cell_ids: set[str]) -> float:
        chosen = [r for r in rows if r["cell_id"] in cell_ids]
        return sum(r["detect_ms"] for r in chosen) / sum(r["audio_s"] for r in chosen)

    assert m["clean"]["latency_ms_per_audio_s"] == pytest.approx(expect({"clean"}))
    by_cell = {c["cell_id"]: c["latency_ms_per_audio_s"] for c in m["cells"]}
    assert by_cell["mp3@3"] == pytest.approx(expect({"mp3@3"}))
    assert by_cell["mp3@3"] > by_cell["noise@1"]
    assert m["latency"]["ms_per_audio_s"] == pytest.approx(expect({c["cell_id"] for c in CELLS}))
    untimed = build_metrics(_rows(_scores()), CELLS, {}, n_bootstrap=0)
    assert untimed["clean"]["latency_ms_per_audio_s"] is None and untimed["latency"] == {"ms_per_audio_s": None}


def brute_fragility(scores: dict[str, np.ndarray], t: float) -> dict[str, dict[str, int | None]]:
    series = {"noise": [(1, "noise@1"), (2, "noise@2")], "mp3": [(3, "mp3@3")]}
    out: dict[str, dict[str, int | None]] = {}
    for i, (clip, _) in enumerate(_clips()):
        clean_call = scores["clean"][i] >= t
        per = {}
        for name, levels in series.items():
            flips = [sev for sev, cid in levels if (scores[cid][i] >= t) != clean_call]
            per[name] = min(flips) if flips else None
        if any(v is not None for v in per.values()):
            out[clip] = per
    return out


def test_fragility_block_lists_the_mildest_flipping_severity_per_clip_and_series() -> None:
    scores = _scores()
    m = build_metrics(_rows(scores), CELLS, {}, n_bootstrap=0)
    frag = m["fragility"]
    t = m["clean"]["threshold"]
    assert frag["threshold"] == t
    assert frag["series"] == ["noise", "mp3"]  # the explicit-parameter cell is no severity series
    assert frag["severities"] == {"noise": [1, 2], "mp3": [3]}
    want = brute_fragility(scores, t)
    assert frag["clips"] == want and want
    for name, levels in frag["severities"].items():
        firsts = [per.get(name) for per in want.values()]
        assert frag["distribution"][name] == {str(s): firsts.count(s) for s in levels}
        assert frag["tested"][name] == 2 * N
        assert frag["never"][name] == 2 * N - sum(frag["distribution"][name].values())
    score = {c: np.mean([6 if v is None else v for v in per.values()]) for c, per in want.items()}
    assert frag["fragility_score"] == pytest.approx(score)
    ranked = sorted(want, key=lambda c: (score[c], -sum(v is not None for v in want[c].values()), c))
    assert frag["most_fragile"] == ranked[:10]
    # every listed clip's mildest severity really flips it, and no milder one of that series does
    flip_rate_noise_1 = next(c["flip_rate"] for c in m["cells"] if c["cell_id"] == "noise@1")
    assert frag["distribution"]["noise"]["1"] == round(flip_rate_noise_1 * 2 * N)


def test_fragility_skips_failed_rows_and_is_null_without_severity_series() -> None:
    scores = _scores()
    rows = _rows(scores)
    t = build_metrics(rows, CELLS, {}, n_bootstrap=0)["clean"]["threshold"]
    flipper = next(c for c, per in brute_fragility(scores, t).items() if per["noise"] == 1)
    for r in rows:
        if r["clip_id"] == flipper and r["cell_id"] == "noise@1":
            r.update(raw_score=None, p_fake=None, error="decode failed")
    frag = build_metrics(rows, CELLS, {}, n_bootstrap=0)["fragility"]
    i = [c for c, _ in _clips()].index(flipper)
    flips_at_2 = (scores["noise@2"][i] >= t) != (scores["clean"][i] >= t)
    assert frag["clips"].get(flipper, {}).get("noise") == (2 if flips_at_2 else None)
    only_explicit = [CELLS[0], CELLS[4]]
    assert build_metrics([r for r in _rows(scores) if r["cell_id"] in ("clean", CELLS[4]["cell_id"])], only_explicit, {},
                         n_bootstrap=0)["fragility"] is None
