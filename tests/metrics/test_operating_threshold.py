"""The clean operating threshold sits strictly between two clean scores (issue 10, 1c).

The EER threshold is a clip's score: a rounding-level change of that clip's score
(p_fake 0.99991 -> 0.99990) used to count as a flip. The brute-force reference
below re-derives the EER point, the gap around it and every flip without the
library's code.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from audiostress.metrics.functional import compute_eer, error_rates_at, flip_rate, operating_threshold
from audiostress.metrics.summary import build_metrics

CLEAN = {"cell_id": "clean", "corruption": "clean", "severity": 0, "params": {}, "family": None}


def _cell(cell_id: str) -> dict:
    return {"cell_id": cell_id, "corruption": "gain", "severity": 1, "params": {}, "family": "modification"}


def _rows(cell: dict, scores: dict[str, float]) -> list[dict]:
    return [
        {"clip_id": c, "label": "spoof" if c.startswith("s") else "bonafide", "attack": None, "cell_id": cell["cell_id"],
         "corruption": cell["corruption"], "severity": cell["severity"], "raw_score": v, "p_fake": v,
         "measured_snr_db": None, "error": None}
        for c, v in scores.items()
    ]


def brute_eer_threshold(scores: list[float], spoof: list[bool]) -> float:
    """ASVspoof compute_eer by enumeration: exact |FPR - FNR|, the highest threshold on ties."""
    n_spoof = sum(spoof)
    n_bona = len(spoof) - n_spoof
    candidates = sorted(set(scores)) + [math.inf]
    best: tuple[Fraction, float] | None = None
    for t in candidates:
        fpr = Fraction(sum(1 for s, y in zip(scores, spoof) if not y and s >= t), n_bona)
        fnr = Fraction(sum(1 for s, y in zip(scores, spoof) if y and s < t), n_spoof)
        gap = abs(fpr - fnr)
        if best is None or gap <= best[0]:
            best = (gap, t)
    assert best is not None
    return best[1]


def brute_operating_threshold(scores: list[float], eer_t: float) -> float:
    """Midpoint between the highest clean score below the EER threshold and the lowest at or above it."""
    below = [s for s in scores if s < eer_t]
    above = [s for s in scores if s >= eer_t]
    distinct = sorted(set(scores))
    if below and above:
        return (max(below) + min(above)) / 2
    if above:  # all called spoof: the edge gap as wide as the next gap up (1.0 when all equal)
        low = distinct[0] - (distinct[1] - distinct[0] if len(distinct) > 1 else 1.0)
        return (low + distinct[0]) / 2
    high = distinct[-1] + (distinct[-1] - distinct[-2] if len(distinct) > 1 else 1.0)
    return (distinct[-1] + high) / 2


def brute_flips(clean: list[float], cell: list[float], t: float) -> float:
    return sum((a >= t) != (b >= t) for a, b in zip(clean, cell)) / len(clean)


#: s1's clean score is the EER threshold (checked below); b3 is the bona fide clip above it.
CLEAN_SCORES = {"b0": 0.1, "b1": 0.2, "b2": 0.3, "b3": 0.99995, "s0": 0.5, "s1": 0.99991, "s2": 0.99999, "s3": 0.999999}


def test_the_eer_threshold_of_this_set_is_one_clips_score() -> None:
    scores, spoof = list(CLEAN_SCORES.values()), [c.startswith("s") for c in CLEAN_SCORES]
    eer, t = compute_eer(scores, spoof)
    assert (eer, t) == (0.25, 0.99991) == (0.25, brute_eer_threshold(scores, spoof))


def test_a_rounding_change_of_the_clip_at_the_threshold_is_no_flip_and_a_real_crossing_is() -> None:
    tiny = dict(CLEAN_SCORES, s1=0.99990)  # p_fake 0.99991 -> 0.99990
    crossing = dict(CLEAN_SCORES, s1=0.7, b2=0.76)  # s1 falls below the gap's midpoint, b2 rises above it
    cells = [CLEAN, _cell("gain@1"), _cell("gain@2")]
    rows = _rows(CLEAN, CLEAN_SCORES) + _rows(cells[1], tiny) + _rows(cells[2], crossing)
    m = build_metrics(rows, cells, {}, n_bootstrap=0)
    clean = m["clean"]
    scores, spoof = list(CLEAN_SCORES.values()), [c.startswith("s") for c in CLEAN_SCORES]
    assert clean["eer"] == 0.25 and clean["eer_threshold"] == 0.99991  # the EER itself is unchanged
    tau = brute_operating_threshold(scores, brute_eer_threshold(scores, spoof))
    assert clean["threshold"] == pytest.approx(tau, abs=1e-15) and 0.5 < clean["threshold"] < 0.99991
    by_id = {c["cell_id"]: c for c in m["cells"]}
    ids = sorted(CLEAN_SCORES)
    assert by_id["gain@1"]["flip_rate"] == 0.0 == brute_flips([CLEAN_SCORES[c] for c in ids], [tiny[c] for c in ids], tau)
    assert flip_rate(scores, list(tiny.values()), 0.99991) == 1 / 8  # what the old threshold counted
    assert by_id["gain@2"]["flip_rate"] == 2 / 8 == brute_flips(
        [CLEAN_SCORES[c] for c in ids], [crossing[c] for c in ids], tau)
    # FPR/FNR at the clean threshold use the same operating point.
    assert by_id["gain@1"]["fpr_at_clean_threshold"] == 0.25 and by_id["gain@1"]["fnr_at_clean_threshold"] == 0.25
    assert (by_id["gain@2"]["fpr_at_clean_threshold"], by_id["gain@2"]["fnr_at_clean_threshold"]) == (0.5, 0.5)
    assert "midpoint" in m["settings"]["threshold_rule"]


@pytest.mark.parametrize("seed", range(40))
def test_operating_threshold_matches_brute_force_on_tied_random_sets(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 14))
    spoof = rng.random(n) < 0.5
    spoof[0], spoof[1] = False, True
    scores = (rng.integers(0, 6, n) / 4.0 + 0.75 * spoof).tolist()  # coarse grid: many ties
    eer_t = compute_eer(scores, spoof)[1]
    assert eer_t == brute_eer_threshold(scores, list(spoof))
    tau = operating_threshold(scores, eer_t)
    assert tau == brute_operating_threshold(scores, eer_t)
    assert tau not in scores  # strictly between clean scores
    s = np.array(scores)
    assert ((s >= tau) == (s >= eer_t)).all()  # every clean clip keeps its EER-point decision
    assert error_rates_at(scores, spoof, tau) == error_rates_at(scores, spoof, eer_t)


def test_edges_and_adjacent_floats() -> None:
    assert operating_threshold([1.0, 1.0], 1.0) == 0.5  # one distinct score, all called spoof
    assert operating_threshold([1.0, 1.0], np.nextafter(1.0, 2.0)) == 1.5  # none called spoof
    a = 0.5
    b = float(np.nextafter(a, 1.0))
    assert operating_threshold([a, b], b) == b  # nothing lies strictly between adjacent floats
    with pytest.raises(ValueError, match="finite threshold"):
        operating_threshold([0.1, 0.2], math.nan)
    with pytest.raises(ValueError, match="non-empty"):
        operating_threshold([], 0.1)
