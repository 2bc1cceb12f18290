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
  clean block's operating threshold ``clean.threshold`` (all clean clips): the
  operating point a deployed detector keeps. It is placed strictly between two
  clean scores, at the midpoint between the lowest clean ``raw_score`` called
  spoof at the EER point and the highest one called bona fide
  (:func:`~audiostress.metrics.functional.operating_threshold`), so it calls
  every clean clip as the EER point does, and a clip's score must really cross
  the gap to flip. ``clean.eer_threshold`` keeps the EER point's own threshold
  (a clip's score); the EER itself is unchanged. The threshold is on
  ``raw_score``; on ``p_fake`` (a monotone map of ``raw_score`` for one window)
  it lies between the same two clips' ``p_fake``.
- **Small n.** Every block has ``small_n``: true when a class has fewer than
  ``SMALL_N`` (10) clips, so its CI is not to be trusted. ``per_attack_counts``
  (``{cell_id: {attack: {n_bonafide, n_spoof, small_n}}}``) gives the clips behind
  each ``per_attack`` EER.
- **Errors.** ``errors`` lists every failed pair, plus one entry per dataset row
  that never became a clip (``provenance["dataset_problems"]``; ``cell_id "*"``,
  ``clip_id`` the id the row names or null, ``row`` where it is). ``error_summary``
  groups them by message (``{error, count, cells, clip_ids}``, most frequent
  first, the first 5 cells and clip ids). ``warnings`` lists strings to show the
  user, e.g. clean scores that look inverted (AUROC < 0.5 or EER > 0.5).
- **Bootstrap.** Stratified, clip-level, ``n_bootstrap`` resamples drawn from
  ``numpy.random.default_rng(seed)``; ``eer_ci95``, the paired ``delta_eer_ci95``,
  ``drift_ci95`` (of ``drift_mean_abs``) and ``flip_rate_ci95`` (at the clean
  threshold) come from the same resamples. The draws depend only on (seed, n, labels of the
  paired clips in clip-id order), so every cell on the same clips shares them
  (common random numbers; the clean side is computed once) and a cell's CI equals
  ``bootstrap_eer_ci(cell_raw, labels, n=n_bootstrap, seed=seed)`` on its paired
  clips, whatever else is in the grid. ``n_bootstrap=0`` disables CIs (null).
- **Calibration.** ``cllr`` (bits) reads ``p_fake`` as a posterior under an even
  prior (:func:`~audiostress.metrics.functional.cllr`), for clean and every cell.
- **Declared threshold.** When the card declares ``output.threshold``
  (``provenance.detector.output.threshold``, on ``p_fake``), every block has
  ``accuracy_at_threshold``, ``fpr_at_threshold`` and ``fnr_at_threshold``: a clip
  is called spoof when ``p_fake >= threshold``. Without one they are null.
- **Latency.** ``latency_ms_per_audio_s`` per block (the block's scored rows, the
  unpaired ones included) and top-level ``latency: {ms_per_audio_s}`` over every
  scored row: detector ms per second of audio (:mod:`.latency`); null for rows
  that do not record ``detect_ms``/``audio_s``.
- **Fragility.** Top-level ``fragility``: per clip and per severity series, the
  mildest severity that flips the clip's decision at ``clean.threshold``, the
  distribution over clips and the most fragile clips (:mod:`.fragility`).
- **measured_snr_db.** Median over the paired clips of the finite measured SNRs
  (``+inf`` = audio unchanged, excluded); null when none is finite.
- **Degenerate cells.** With a class missing, EER/AUROC/DCF are null and ``note``
  says why; nothing raises. nan/inf never reach the JSON (null instead).
- **Coverage.** Pairs are expected for every grid cell and every clip, the
  clips being those with a row or, when larger, ``provenance["dataset"]["n"]``
  plus the dataset rows that never became clips (recorded as ``clips_expected``):
  a shard or an unfinished sweep whose missing clips have no row at all is not
  counted complete. Those rows are ``clips_skipped``; their pairs are
  ``pairs_skipped`` (neither failed nor missing), so ``fraction_scored`` counts
  them against the sweep. ``pairs_retried`` counts rows whose detector call was
  retried (``retries > 0``).
- The clean cell (``cell_id == "clean"``) is reported in the ``clean`` block, not
  in ``cells``.
- **Metric table.** The per-block metrics are the entries of
  :data:`audiostress.metrics.cell_metrics.METRICS`; this module pairs the clips,
  adds the counts, the bootstrap CIs and the cross-cell blocks around them.
- **Cells as data.** Each cell block copies the grid's description of the cell:
  ``severity`` (``null`` for a cell given by explicit parameters), ``table``,
  ``series``, ``axis`` (``{param, unit, value}``), ``family`` and ``params``. Cells
  that do not carry them (an older caller) get ``null``; nothing is parsed out of
  ``cell_id``.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..runners.rows import ScoreRow
from ._atomic import write_atomic
from ._table import CLEAN_CELL_ID, Paired, Table, build_table, json_safe, paired
from .bootstrap import percentile_interval, resample_weights, weighted_eers, weighted_means
from .cell_metrics import CELL, CLEAN, Costs, MetricInput, compute_block, metric_names
from .coverage import coverage_block, dataset_problems
from .cross_cell import (
    codec_pair_block,
    corruption_error_block,
    per_attack_block,
    per_attack_counts_block,
    per_attack_delta_block,
)
from .diagnostics import SMALL_N, dataset_problem_errors, group_errors, inverted_warning, is_small_n
from .fragility import fragility_block
from .functional import C_FA, C_MISS, P_SPOOF
from .latency import ms_per_audio_s

__all__ = ["SCHEMA_VERSION", "SMALL_N", "build_metrics", "write_metrics"]

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


def declared_threshold(provenance: Mapping[str, Any]) -> float | None:
    """The card's operating point on p_fake, ``provenance["detector"]["output"]["threshold"]``, or ``None``."""
    detector = provenance.get("detector")
    output = detector.get("output") if isinstance(detector, Mapping) else None
    value = output.get("threshold") if isinstance(output, Mapping) else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(
            f"build_metrics: provenance.detector.output.threshold must be null or a number in [0, 1] (on p_fake), "
            f"got {value!r}; fix output.threshold in the detector card"
        )
    return float(value)


class _Settings:
    def __init__(
        self, p_spoof: float, c_miss: float, c_fa: float, n_bootstrap: int, seed: int, threshold: float | None = None
    ) -> None:
        self.declared_threshold = threshold
        self.costs = Costs(p_spoof, c_miss, c_fa)
        self.act_threshold_p = self.costs.act_threshold_p  # bayes_threshold checks the costs here
        self.n_bootstrap, self.seed = int(n_bootstrap), int(seed)
        self.cache = _BootstrapCache(self.n_bootstrap, self.seed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold_score": "raw_score",
            "drift_score": "p_fake",
            "decision": "called spoof when score >= threshold",
            "threshold_rule": (
                "clean.threshold (flip rate, FPR/FNR at the clean threshold) is the midpoint between the lowest clean "
                "raw_score called spoof at the EER point and the highest called bona fide, so no clean clip sits on "
                "it; clean.eer_threshold is the EER point's own threshold (a clip's score)"
            ),
            "declared_threshold": self.declared_threshold,
            "declared_threshold_rule": "accuracy/fpr/fnr_at_threshold: called spoof when p_fake >= declared_threshold",
            "latency": "latency_ms_per_audio_s = sum(detect_ms) / sum(audio_s) over scored rows",
            "small_n": SMALL_N,
            "eer_definition": "ASVspoof compute_eer: (FPR+FNR)/2 where |FPR-FNR| is minimal, ties grouped",
            "p_spoof": self.costs.p_spoof,
            "c_miss": self.costs.c_miss,
            "c_fa": self.costs.c_fa,
            "act_dcf_threshold_p_fake": self.act_threshold_p,
            "n_bootstrap": self.n_bootstrap,
            "bootstrap": (
                "stratified by class, clip-level, percentile; paired for delta_eer; drift_ci95 (of drift_mean_abs) "
                "and flip_rate_ci95 on the same resamples"
            ),
            "ci_level": CI_LEVEL,
            "seed": self.seed,
        }


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
        "n": len(ids), "n_bonafide": n_bona, "n_spoof": n_spoof, "small_n": is_small_n(n_bona, n_spoof),
        "errors": table.error_counts.get(CLEAN_CELL_ID, 0),
        **dict.fromkeys(metric_names(CLEAN)),
        "eer_ci95": None, "note": None,
        "latency_ms_per_audio_s": ms_per_audio_s(scored.values()),
    }
    if CLEAN_CELL_ID not in table.cells:
        block["note"] = "no clean cell in this sweep"
        return block
    block["note"] = _class_note(n_bona, n_spoof)
    block.update(compute_block(CLEAN, MetricInput(y, raw, p, costs=st.costs, declared_threshold=st.declared_threshold)))
    if block["note"] is None and st.n_bootstrap:
        _, eers = st.cache.get(ids, y, raw)
        block["eer_ci95"] = list(percentile_interval(eers, CI_LEVEL))
    return block


def _describe(spec: Mapping[str, Any], cell_id: str) -> dict[str, Any]:
    """The grid's description of a cell, copied as given (``None`` where the caller did not give it)."""
    severity = spec.get("severity")
    axis = spec.get("axis")
    return {
        "cell_id": cell_id,
        "corruption": spec.get("corruption"),
        "severity": int(severity) if isinstance(severity, (int, np.integer)) else severity,
        "params": dict(spec.get("params") or {}),
        "family": spec.get("family"),
        "table": spec.get("table"),
        "series": spec.get("series"),
        "axis": {k: axis.get(k) for k in ("param", "unit", "value")} if isinstance(axis, Mapping)
        else {"param": None, "unit": None, "value": None},
    }


def _cell_block(table: Table, cell_id: str, clean_threshold: float | None, st: _Settings) -> dict[str, Any]:
    pr: Paired = paired(table, cell_id)
    y = pr.labels
    n_spoof = int(y.sum())
    n_bona = len(pr.clip_ids) - n_spoof
    block: dict[str, Any] = {
        **_describe(table.cells[cell_id], cell_id),
        "n": len(pr.clip_ids), "n_bonafide": n_bona, "n_spoof": n_spoof, "small_n": is_small_n(n_bona, n_spoof),
        "errors": table.error_counts.get(cell_id, 0),
        "n_unpaired": len(table.ok.get(cell_id, {})) - len(pr.clip_ids),
        **dict.fromkeys(metric_names(CELL)),
        "eer_ci95": None, "delta_eer_ci95": None, "drift_ci95": None, "flip_rate_ci95": None,
        "latency_ms_per_audio_s": ms_per_audio_s(table.ok.get(cell_id, {}).values()),
        "note": None,
    }
    if not pr.clip_ids:
        block["note"] = (
            "no clip scored in both clean and this cell"
            if table.ok.get(CLEAN_CELL_ID) else "no clean scores to pair with"
        )
        return block
    data = MetricInput(
        y, pr.cell_raw, pr.cell_p, clean_raw=pr.clean_raw, clean_p=pr.clean_p,
        clean_threshold=clean_threshold, snr_db=pr.snr_db, costs=st.costs, declared_threshold=st.declared_threshold,
    )  # fmt: skip
    block.update(compute_block(CELL, data))
    block["note"] = _class_note(n_bona, n_spoof)
    if block["note"] is None and st.n_bootstrap:
        weights, clean_b = st.cache.get(pr.clip_ids, y, pr.clean_raw)
        cell_b = weighted_eers(pr.cell_raw, y, weights)
        block["eer_ci95"] = list(percentile_interval(cell_b, CI_LEVEL))
        block["delta_eer_ci95"] = list(percentile_interval(cell_b - clean_b, CI_LEVEL))
        # Per-clip statistics on the very same resamples (a matrix-vector product each).
        block["drift_ci95"] = list(percentile_interval(weighted_means(np.abs(pr.cell_p - pr.clean_p), weights), CI_LEVEL))
        if clean_threshold is not None:
            flips = (pr.clean_raw >= clean_threshold) != (pr.cell_raw >= clean_threshold)
            block["flip_rate_ci95"] = list(percentile_interval(weighted_means(flips, weights), CI_LEVEL))
    return block


def _warnings(clean: Mapping[str, Any]) -> list[str]:
    inverted = inverted_warning(clean)
    return [inverted] if inverted else []


def _provenance(provenance: Mapping[str, Any], seed: int) -> dict[str, Any]:
    out = dict(provenance)
    out.setdefault("audiostress", __version__)
    out.setdefault("seed", seed)
    for key in _PROVENANCE_KEYS:
        out.setdefault(key, None)
    return out


def build_metrics(
    rows: Sequence[ScoreRow | Mapping[str, Any]],
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

    ``rows``: one per (clip, cell), :class:`~audiostress.runners.rows.ScoreRow` objects
    or mappings with its fields (``clip_id, label ("bonafide"/"spoof"), attack,
    cell_id, corruption, severity, raw_score, p_fake, measured_snr_db, error``;
    ``clip_id``, ``cell_id`` and ``label`` are required).
    ``cells``: one per grid cell, clean included, with ``cell_id, corruption,
    severity, params, family`` and, from the grid, ``table, series, axis`` (copied
    into each cell block; ``None`` when absent). ``reference``: another sweep's metrics.json for
    corruption errors. Extra top-level blocks: ``coverage``, ``settings``,
    ``codec_pair`` (null unless ``codec_pair_cells``), ``corruption_errors``
    (``{corruption: {ce, relative_ce, severities, missing_severities, note}}``, keyed
    ``name[table]`` for a non-default severity table) and
    ``corruption_error_reference`` (``{detector, clean_eer, mce, relative_mce}``),
    both null unless ``reference``, ``per_attack`` (``{cell_id: {attack: eer}}``,
    ``{}`` without attack metadata), ``per_attack_counts`` (``{cell_id: {attack:
    {n_bonafide, n_spoof, small_n}}}``), ``per_attack_delta`` (``{cell_id: {attack:
    ΔEER}}``, corrupted cells, cell minus clean on the same paired clips),
    ``error_summary`` (``[{error, count, cells, clip_ids}]``), ``warnings``
    (``[str]``), ``latency`` (``{ms_per_audio_s}``, detector time over every scored
    row) and ``fragility`` (:mod:`audiostress.metrics.fragility`; null without a
    clean threshold or a severity series). ``provenance["dataset_problems"]`` (``[{row, message, clip_id?}]``)
    adds one error per skipped dataset row.
    """
    if int(n_bootstrap) != n_bootstrap or n_bootstrap < 0:
        raise ValueError(f"build_metrics: expected `n_bootstrap` >= 0, got {n_bootstrap}")
    st = _Settings(p_spoof, c_miss, c_fa, n_bootstrap, seed, declared_threshold(provenance))
    table = build_table(rows, cells)
    clean = _clean_block(table, st)
    cell_blocks = [
        _cell_block(table, cid, clean["threshold"], st) for cid in table.cells if cid != CLEAN_CELL_ID
    ]
    corruption_errors, reference_summary = (
        corruption_error_block(cell_blocks, clean["eer"], reference) if reference is not None else (None, None)
    )
    errors = [*table.errors, *dataset_problem_errors(dataset_problems(provenance))]
    metrics: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "provenance": _provenance(provenance, seed),
        "settings": st.as_dict(),
        "coverage": coverage_block(table, provenance),
        "clean": clean,
        "cells": cell_blocks,
        "errors": errors,
        "error_summary": group_errors(errors),
        "warnings": _warnings(clean),
        "per_attack": per_attack_block(table),
        "per_attack_counts": per_attack_counts_block(table),
        "per_attack_delta": per_attack_delta_block(table),
        "codec_pair": codec_pair_block(table, codec_pair_cells) if codec_pair_cells is not None else None,
        "corruption_errors": corruption_errors,
        "corruption_error_reference": reference_summary,
        "latency": {"ms_per_audio_s": ms_per_audio_s(s for scored in table.ok.values() for s in scored.values())},
        "fragility": fragility_block(table, clean["threshold"]),
    }
    return json_safe(metrics)


def write_metrics(path: str | os.PathLike[str], metrics: Mapping[str, Any]) -> None:
    """Write ``metrics`` as sorted, indented JSON (no NaN/Inf), atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(json_safe(metrics), sort_keys=True, indent=2, allow_nan=False) + "\n"
    write_atomic(target, text)
