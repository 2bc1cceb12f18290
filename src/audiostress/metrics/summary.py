"""Build ``metrics.json`` (schema 1, DESIGN.md) from a sweep's rows.

Choices, applied to every cell:

- **Scores.** Threshold metrics (EER, AUROC, minDCF, per-attack EER, flip rate,
  FPR/FNR at the clean threshold) use ``raw_score``, the detector's score oriented
  by its loader so that higher = more fake. Drift and the codec-pair Δ use
  ``p_fake``, a probability, so their values are comparable across detectors.
  actDCF applies the ASVspoof 5 Bayes threshold to ``p_fake`` read as a calibrated
  posterior with an even training prior (``logit(p_fake)`` as the LLR), i.e. calls
  spoof when ``p_fake >= beta / (1 + beta)``.
- **Decisions.** A clip is called spoof when ``score >= threshold``.
- **Pairing.** A cell's metrics use only clips scored without error in *both*
  the clean cell and that cell; ``n`` counts them, ``errors`` counts the cell's
  failed rows, ``n_unpaired`` the cell's scored clips dropped because their clean
  row failed. ``delta_eer`` = EER(cell) − EER(clean), both on those paired clips.
  The clean block itself uses every clip scored clean.
- **Clean threshold.** ``flip_rate`` and ``fpr/fnr_at_clean_threshold`` use the
  clean block's EER threshold (all clean clips): the operating point a deployed
  detector keeps.
- **Bootstrap.** Stratified, clip-level, ``n_bootstrap`` resamples drawn from
  ``numpy.random.default_rng(seed)``; ``eer_ci95`` and the paired ``delta_eer_ci95``
  come from the same resamples. The draws depend only on (seed, n, labels of the
  paired clips in clip-id order), so every cell on the same clips shares them
  (common random numbers; the clean side is computed once) and a cell's CI equals
  ``bootstrap_eer_ci(cell_raw, labels, n=n_bootstrap, seed=seed)`` on its paired
  clips, whatever else is in the grid. ``n_bootstrap=0`` disables CIs (null).
- **measured_snr_db.** Median over the paired clips of the finite measured SNRs
  (``+inf`` = audio unchanged, excluded); null when none is finite.
- **Degenerate cells.** With a class missing, EER/AUROC/DCF are null and ``note``
  says why; nothing raises. nan/inf never reach the JSON (null instead).
- **Coverage.** Pairs are expected for every grid cell and every clip, the
  clips being those with a row or, when larger, ``provenance["dataset"]["n"]``
  (recorded as ``clips_expected``): a shard or an unfinished sweep whose missing
  clips have no row at all is not counted complete.
- The clean cell (``cell_id == "clean"``) is reported in the ``clean`` block, not
  in ``cells``.
"""

from __future__ import annotations

import json
import math
import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ._table import CLEAN_CELL_ID, Paired, Table, build_table, json_safe, paired
from .bootstrap import percentile_interval, resample_weights, weighted_eers
from .comparison import drift, flip_rate
from .cross_cell import codec_pair_block, corruption_error_block, per_attack_block, per_attack_delta_block
from .functional import C_FA, C_MISS, P_SPOOF, act_dcf, auroc, bayes_threshold, compute_eer, error_rates_at, min_dcf

__all__ = ["SCHEMA_VERSION", "build_metrics", "write_metrics"]

SCHEMA_VERSION = 1
CI_LEVEL = 0.95
_PROVENANCE_KEYS = ("detector", "dataset", "grid", "torch", "codecs", "machine", "created")


#: Distinct paired clip sets whose resamples are kept (cells usually share one).
_CACHE_SIZE = 4


class _BootstrapCache:
    """Resample weights and clean EERs per paired clip set, shared by the cells using it.

    Resamples depend only on (seed, n, labels of the clip set), so every cell
    scored on the same clips is resampled identically and the clean side of its
    paired ΔEER is computed once.
    """

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed = n, seed
        self._entries: OrderedDict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def get(self, clip_ids: list[str], labels: np.ndarray, clean_raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = tuple(clip_ids)
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        weights = resample_weights(labels, n=self.n, seed=self.seed)
        entry = (weights, weighted_eers(clean_raw, labels, weights))
        self._entries[key] = entry
        if len(self._entries) > _CACHE_SIZE:
            self._entries.popitem(last=False)
        return entry


class _Settings:
    def __init__(self, p_spoof: float, c_miss: float, c_fa: float, n_bootstrap: int, seed: int) -> None:
        self.p_spoof, self.c_miss, self.c_fa = p_spoof, c_miss, c_fa
        self.n_bootstrap, self.seed = int(n_bootstrap), int(seed)
        self.cache = _BootstrapCache(self.n_bootstrap, self.seed)
        beta = math.exp(bayes_threshold(p_spoof=p_spoof, c_miss=c_miss, c_fa=c_fa))
        self.act_threshold_p = beta / (1.0 + beta)

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold_score": "raw_score",
            "drift_score": "p_fake",
            "decision": "called spoof when score >= threshold",
            "eer_definition": "ASVspoof compute_eer: (FPR+FNR)/2 where |FPR-FNR| is minimal, ties grouped",
            "p_spoof": self.p_spoof,
            "c_miss": self.c_miss,
            "c_fa": self.c_fa,
            "act_dcf_threshold_p_fake": self.act_threshold_p,
            "n_bootstrap": self.n_bootstrap,
            "bootstrap": "stratified by class, clip-level, percentile; paired for delta_eer",
            "ci_level": CI_LEVEL,
            "seed": self.seed,
        }

    def dcf(self) -> dict[str, float]:
        return {"p_spoof": self.p_spoof, "c_miss": self.c_miss, "c_fa": self.c_fa}


def _class_note(n_bona: int, n_spoof: int) -> str | None:
    if n_bona and n_spoof:
        return None
    return f"EER undefined: only one class present (n_bonafide={n_bona}, n_spoof={n_spoof})"


def _clean_block(table: Table, st: _Settings) -> dict[str, Any]:
    scored = table.ok.get(CLEAN_CELL_ID, {})
    ids = sorted(scored)
    y = np.array([table.labels[c] for c in ids], dtype=bool)
    raw = np.array([scored[c].raw_score for c in ids], dtype=np.float64)
    p = np.array([scored[c].p_fake for c in ids], dtype=np.float64)
    n_spoof = int(y.sum())
    n_bona = len(ids) - n_spoof
    block: dict[str, Any] = {
        "n": len(ids), "n_bonafide": n_bona, "n_spoof": n_spoof,
        "errors": table.error_counts.get(CLEAN_CELL_ID, 0),
        "eer": None, "threshold": None, "auroc": None, "min_dcf": None, "act_dcf": None,
        "eer_ci95": None, "note": None,
    }
    if CLEAN_CELL_ID not in table.cells:
        block["note"] = "no clean cell in this sweep"
        return block
    block["note"] = _class_note(n_bona, n_spoof)
    if block["note"] is None:
        block["eer"], block["threshold"] = compute_eer(raw, y)
        block["auroc"] = auroc(raw, y)
        block["min_dcf"] = min_dcf(raw, y, **st.dcf())[0]
        block["act_dcf"] = act_dcf(p, y, st.act_threshold_p, **st.dcf())
        if st.n_bootstrap:
            _, eers = st.cache.get(ids, y, raw)
            block["eer_ci95"] = list(percentile_interval(eers, CI_LEVEL))
    return block


def _median_snr(values: list[float | None]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.median(finite)) if finite else None


def _cell_block(table: Table, cell_id: str, clean_threshold: float | None, st: _Settings) -> dict[str, Any]:
    spec = table.cells[cell_id]
    pr: Paired = paired(table, cell_id)
    y = pr.labels
    n_spoof = int(y.sum())
    n_bona = len(pr.clip_ids) - n_spoof
    severity = spec.get("severity")
    block: dict[str, Any] = {
        "cell_id": cell_id,
        "corruption": spec.get("corruption"),
        "severity": int(severity) if isinstance(severity, (int, np.integer)) else severity,
        "params": dict(spec.get("params") or {}),
        "family": spec.get("family"),
        "n": len(pr.clip_ids), "n_bonafide": n_bona, "n_spoof": n_spoof,
        "errors": table.error_counts.get(cell_id, 0),
        "n_unpaired": len(table.ok.get(cell_id, {})) - len(pr.clip_ids),
        "eer": None, "delta_eer": None, "eer_ci95": None, "delta_eer_ci95": None,
        "auroc": None, "min_dcf": None, "act_dcf": None,
        "drift_mean_abs": None, "drift_mean_signed": None,
        "drift_mean_signed_bonafide": None, "drift_mean_signed_spoof": None,
        "flip_rate": None, "fpr_at_clean_threshold": None, "fnr_at_clean_threshold": None,
        "measured_snr_db": _median_snr(pr.snr_db),
        "note": None,
    }
    if not pr.clip_ids:
        block["note"] = (
            "no clip scored in both clean and this cell"
            if table.ok.get(CLEAN_CELL_ID) else "no clean scores to pair with"
        )
        return block
    block["drift_mean_abs"], block["drift_mean_signed"] = drift(pr.clean_p, pr.cell_p)
    for name, mask in (("bonafide", ~y), ("spoof", y)):
        if mask.any():
            block[f"drift_mean_signed_{name}"] = drift(pr.clean_p[mask], pr.cell_p[mask])[1]
    if clean_threshold is not None:
        block["flip_rate"] = flip_rate(pr.clean_raw, pr.cell_raw, clean_threshold)
        fpr, fnr = error_rates_at(pr.cell_raw, y, clean_threshold)
        block["fpr_at_clean_threshold"], block["fnr_at_clean_threshold"] = fpr, fnr
    block["note"] = _class_note(n_bona, n_spoof)
    if block["note"] is not None:
        return block
    block["eer"] = compute_eer(pr.cell_raw, y)[0]
    block["delta_eer"] = block["eer"] - compute_eer(pr.clean_raw, y)[0]
    block["auroc"] = auroc(pr.cell_raw, y)
    block["min_dcf"] = min_dcf(pr.cell_raw, y, **st.dcf())[0]
    block["act_dcf"] = act_dcf(pr.cell_p, y, st.act_threshold_p, **st.dcf())
    if st.n_bootstrap:
        weights, clean_b = st.cache.get(pr.clip_ids, y, pr.clean_raw)
        cell_b = weighted_eers(pr.cell_raw, y, weights)
        block["eer_ci95"] = list(percentile_interval(cell_b, CI_LEVEL))
        block["delta_eer_ci95"] = list(percentile_interval(cell_b - clean_b, CI_LEVEL))
    return block


def _clips_expected(provenance: Mapping[str, Any]) -> int | None:
    """The dataset's clip count from ``provenance["dataset"]["n"]``, when recorded."""
    dataset = provenance.get("dataset")
    n = dataset.get("n") if isinstance(dataset, Mapping) else None
    return int(n) if isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0 else None


def _coverage(table: Table, clips_expected: int | None) -> dict[str, Any]:
    """Scored / failed / missing (clip, cell) pairs.

    Clips are counted from the rows; when the provenance records the dataset's
    size (``clips_expected``), pairs are expected for that many clips, so clips
    with no row at all (another shard's, or never reached) count as missing.
    """
    clips = len(table.labels)
    n_cells = len(table.cells)
    ok = sum(len(v) for v in table.ok.values())
    failed = len(table.errors)
    expected = max(clips, clips_expected or 0) * n_cells
    return {
        "clips": clips,
        "clips_expected": clips_expected,
        "cells": n_cells,
        "pairs_expected": expected,
        "pairs_scored": ok,
        "pairs_failed": failed,
        "pairs_missing": expected - ok - failed,
        "fraction_scored": ok / expected if expected else None,
        "clips_failed_clean": table.error_counts.get(CLEAN_CELL_ID, 0),
    }


def _provenance(provenance: Mapping[str, Any], seed: int) -> dict[str, Any]:
    out = dict(provenance)
    out.setdefault("audiostress", __version__)
    out.setdefault("seed", seed)
    for key in _PROVENANCE_KEYS:
        out.setdefault(key, None)
    return out


def build_metrics(
    rows: Sequence[Mapping[str, Any]],
    cells: Sequence[Mapping[str, Any]],
    provenance: Mapping[str, Any],
    *,
    codec_pair_cells: Sequence[str] | None = None,
    reference: Mapping[str, Any] | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    p_spoof: float = P_SPOOF,
    c_miss: float = C_MISS,
    c_fa: float = C_FA,
) -> dict[str, Any]:
    """The ``metrics.json`` dict (schema 1) for one sweep; see the module docstring.

    ``rows``: one per (clip, cell) with ``clip_id, label ("bonafide"/"spoof"), attack,
    cell_id, corruption, severity, raw_score, p_fake, measured_snr_db, error``.
    ``cells``: one per grid cell, clean included, with ``cell_id, corruption,
    severity, params, family``. ``reference``: another sweep's metrics.json for
    corruption errors. Extra top-level blocks: ``coverage``, ``settings``,
    ``codec_pair`` (null unless ``codec_pair_cells``), ``corruption_errors``
    (``{corruption: {ce, relative_ce, severities, missing_severities, note}}``, keyed
    ``name[table]`` for a non-default severity table) and
    ``corruption_error_reference`` (``{detector, clean_eer, mce, relative_mce}``),
    both null unless ``reference``, ``per_attack`` (``{cell_id: {attack: eer}}``,
    ``{}`` without attack metadata) and ``per_attack_delta`` (``{cell_id: {attack:
    ΔEER}}``, corrupted cells, cell minus clean on the same paired clips).
    """
    if int(n_bootstrap) != n_bootstrap or n_bootstrap < 0:
        raise ValueError(f"build_metrics: expected `n_bootstrap` >= 0, got {n_bootstrap}")
    st = _Settings(p_spoof, c_miss, c_fa, n_bootstrap, seed)
    table = build_table(rows, cells)
    clean = _clean_block(table, st)
    cell_blocks = [
        _cell_block(table, cid, clean["threshold"], st) for cid in table.cells if cid != CLEAN_CELL_ID
    ]
    corruption_errors, reference_summary = (
        corruption_error_block(cell_blocks, clean["eer"], reference) if reference is not None else (None, None)
    )
    metrics: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "provenance": _provenance(provenance, seed),
        "settings": st.as_dict(),
        "coverage": _coverage(table, _clips_expected(provenance)),
        "clean": clean,
        "cells": cell_blocks,
        "errors": table.errors,
        "per_attack": per_attack_block(table),
        "per_attack_delta": per_attack_delta_block(table),
        "codec_pair": codec_pair_block(table, codec_pair_cells) if codec_pair_cells is not None else None,
        "corruption_errors": corruption_errors,
        "corruption_error_reference": reference_summary,
    }
    return json_safe(metrics)


def write_metrics(path: str | os.PathLike[str], metrics: Mapping[str, Any]) -> None:
    """Write ``metrics`` as sorted, indented JSON (no NaN/Inf), atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(json_safe(metrics), sort_keys=True, indent=2, allow_nan=False) + "\n"
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
