"""Threshold metrics against independent references written here.

References use exact rational arithmetic (``fractions.Fraction``) and a plain scan
of every threshold, so they share no code path with the vectorised counts.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from audiostress.metrics.functional import (
    act_dcf,
    auroc,
    bayes_threshold,
    compute_eer,
    det_curve,
    error_rates_at,
    min_dcf,
)

#: The reference is exact; the implementation divides two integers once.
EXACT_TOL = 1e-9


def _rates(scores: np.ndarray, labels: np.ndarray, t: float) -> tuple[Fraction, Fraction]:
    """(FPR, FNR) as exact fractions when score >= t is called spoof."""
    bona = [s for s, y in zip(scores, labels) if not y]
    spoof = [s for s, y in zip(scores, labels) if y]
    fpr = Fraction(sum(1 for s in bona if s >= t), len(bona))
    fnr = Fraction(sum(1 for s in spoof if s < t), len(spoof))
    return fpr, fnr


def _reference_thresholds_descending(scores: np.ndarray) -> list[float]:
    # "nothing called spoof" first, then every distinct score from the top.
    return [math.inf] + sorted(set(scores.tolist()), reverse=True)


def reference_eer(scores: np.ndarray, labels: np.ndarray) -> tuple[Fraction, Fraction, Fraction]:
    """ASVspoof compute_eer semantics: first strict minimum of |FPR-FNR| from the top."""
    best = None
    for t in _reference_thresholds_descending(scores):
        fpr, fnr = _rates(scores, labels, t)
        gap = abs(fpr - fnr)
        if best is None or gap < best[0]:
            best = (gap, fpr, fnr)
    assert best is not None
    return (best[1] + best[2]) / 2, best[1], best[2]


def reference_min_dcf(scores, labels, p_spoof=0.05, c_miss=1.0, c_fa=10.0) -> float:
    p, cm, cf = Fraction(p_spoof), Fraction(c_miss), Fraction(c_fa)
    norm = min(cm * (1 - p), cf * p)
    costs = []
    for t in _reference_thresholds_descending(scores) + [-math.inf]:
        fpr, fnr = _rates(scores, labels, t)
        costs.append((cm * (1 - p) * fpr + cf * p * fnr) / norm)
    return float(min(costs))


def _cases() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(1234)
    cases = []
    for i in range(25):
        n = int(rng.integers(2, 40))
        y = rng.random(n) < 0.5
        y[0], y[1] = False, True
        cases.append((f"random{i}", rng.normal(size=n) + y * rng.uniform(0, 2), y))
    for i in range(25):
        n = int(rng.integers(2, 60))
        y = rng.random(n) < rng.uniform(0.2, 0.8)
        y[0], y[1] = False, True
        cases.append((f"ties{i}", rng.integers(0, 4, size=n).astype(float), y))
    y = np.array([0] * 7 + [1] * 5, dtype=bool)
    cases.append(("separated", np.r_[np.linspace(-2, -1, 7), np.linspace(1, 2, 5)], y))
    cases.append(("inverted", np.r_[np.linspace(1, 2, 7), np.linspace(-2, -1, 5)], y))
    cases.append(("all_tied", np.zeros(12), y))
    cases.append(("two_levels", np.r_[np.zeros(7), np.ones(5)] + np.r_[np.zeros(6), 1, np.zeros(5)], y))
    return cases


CASES = _cases()


@pytest.mark.parametrize("name,scores,labels", CASES, ids=[c[0] for c in CASES])
def test_eer_matches_brute_force_scan(name: str, scores: np.ndarray, labels: np.ndarray) -> None:
    eer, threshold = compute_eer(scores, labels)
    ref, ref_fpr, ref_fnr = reference_eer(scores, labels)
    assert abs(eer - float(ref)) <= EXACT_TOL
    # The returned threshold is the operating point the reference chose.
    fpr, fnr = _rates(scores, labels, threshold)
    assert (fpr, fnr) == (ref_fpr, ref_fnr)


def test_eer_special_cases_exact_values() -> None:
    y = np.array([0] * 7 + [1] * 5)
    assert compute_eer(np.r_[np.zeros(7), np.ones(5)], y)[0] == 0.0  # perfectly separated
    assert compute_eer(np.r_[np.ones(7), np.zeros(5)], y)[0] == 1.0  # inverted
    assert compute_eer(np.zeros(12), y)[0] == 0.5  # no information


def test_eer_is_invariant_to_monotone_transform_and_order() -> None:
    rng = np.random.default_rng(5)
    y = rng.random(300) < 0.4
    s = rng.normal(size=300) + y
    eer, thr = compute_eer(s, y)
    eer_exp, thr_exp = compute_eer(np.exp(s), y)
    perm = rng.permutation(300)
    assert eer == eer_exp == compute_eer(s[perm], y[perm])[0]
    assert thr_exp == pytest.approx(math.exp(thr))


@pytest.mark.parametrize("name,scores,labels", CASES, ids=[c[0] for c in CASES])
def test_auroc_matches_rank_sum(name: str, scores: np.ndarray, labels: np.ndarray) -> None:
    # Mann-Whitney: U = (rank sum of spoof, average ranks on ties) - n_s (n_s + 1) / 2.
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(scores.size)
    sorted_s = scores[order]
    i = 0
    while i < scores.size:
        j = i
        while j + 1 < scores.size and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    n_s, n_b = int(labels.sum()), int((~labels).sum())
    u = ranks[labels].sum() - n_s * (n_s + 1) / 2
    assert auroc(scores, labels) == pytest.approx(u / (n_s * n_b), abs=EXACT_TOL)
    # And against the pairwise definition.
    diff = scores[labels][:, None] - scores[~labels][None, :]
    pairwise = ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / (n_s * n_b)
    assert auroc(scores, labels) == pytest.approx(pairwise, abs=EXACT_TOL)


@pytest.mark.parametrize("name,scores,labels", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("costs", [(0.05, 1.0, 10.0), (0.5, 1.0, 1.0), (0.2, 3.0, 0.5)])
def test_min_dcf_matches_brute_force(name: str, scores, labels, costs) -> None:
    p, cm, cf = costs
    value, threshold = min_dcf(scores, labels, p_spoof=p, c_miss=cm, c_fa=cf)
    assert value == pytest.approx(reference_min_dcf(scores, labels, p, cm, cf), abs=EXACT_TOL)
    assert value <= 1.0 + EXACT_TOL  # the trivial operating points cost at most 1
    # actDCF at the minimising threshold is the minimum itself.
    assert act_dcf(scores, labels, threshold, p_spoof=p, c_miss=cm, c_fa=cf) == pytest.approx(value, abs=EXACT_TOL)


def test_act_dcf_hand_computed() -> None:
    scores = np.array([0.1, 0.2, 0.7, 0.4, 0.8, 0.9])
    labels = np.array([0, 0, 0, 1, 1, 1])
    # threshold 0.5: bona fide called spoof = {0.7} -> FPR 1/3; spoof accepted = {0.4} -> FNR 1/3
    expected = (1.0 * 0.95 / 3 + 10.0 * 0.05 / 3) / min(0.95, 0.5)
    assert act_dcf(scores, labels, 0.5) == pytest.approx(expected, abs=EXACT_TOL)
    assert error_rates_at(scores, labels, 0.5) == pytest.approx((1 / 3, 1 / 3))
    assert bayes_threshold() == pytest.approx(math.log(0.95 / 0.5))


def test_error_rates_at_threshold_is_inclusive_and_nan_for_missing_class() -> None:
    assert error_rates_at([0.5, 0.5], [0, 1], 0.5) == (1.0, 0.0)
    fpr, fnr = error_rates_at([0.2, 0.9], [1, 1], 0.5)
    assert math.isnan(fpr) and fnr == 0.5


def test_det_curve_endpoints_and_monotonic() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(200) < 0.5
    s = np.round(rng.normal(size=200), 1) + y
    fpr, fnr, thr = det_curve(s, y)
    assert thr.size == np.unique(s).size + 1 and np.all(np.diff(thr) > 0)
    assert (fpr[0], fnr[0], fpr[-1], fnr[-1]) == (1.0, 0.0, 0.0, 1.0)
    assert np.all(np.diff(fpr) <= 0) and np.all(np.diff(fnr) >= 0)
    for k in (3, 50, thr.size - 1):
        assert (fpr[k], fnr[k]) == pytest.approx(error_rates_at(s, y, thr[k]))


@pytest.mark.parametrize(
    "scores,labels,match",
    [
        ([0.1, np.nan], [0, 1], "non-finite"),
        ([0.1, 0.2], [1, 1], "n_bonafide=0"),
        ([0.1, 0.2], [0, 2], "labels in"),
        ([0.1, 0.2, 0.3], [0, 1], "differ in length"),
    ],
)
def test_bad_inputs_raise_clear_errors(scores, labels, match) -> None:
    with pytest.raises(ValueError, match=match):
        compute_eer(scores, labels)


def test_bad_costs_raise() -> None:
    with pytest.raises(ValueError, match="p_spoof"):
        min_dcf([0, 1], [0, 1], p_spoof=1.0)
    with pytest.raises(ValueError, match="c_fa"):
        min_dcf([0, 1], [0, 1], c_fa=0.0)
