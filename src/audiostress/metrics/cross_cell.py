"""Metrics that span cells: codec-pair Δ, per-attack EER and ΔEER, corruption error vs a reference.

Each builder returns a JSON-ready block for ``metrics.json``; degenerate inputs
give ``None`` values and a ``note``, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._table import CLEAN_CELL_ID, Table
from .comparison import codec_pair_delta, corruption_error
from .diagnostics import is_small_n
from .functional import compute_eer

#: ArtifactBench gates: a detector fails when mean Δ > 0.15 or max Δ > 0.35.
CODEC_PAIR_GATE_MEAN = 0.15
CODEC_PAIR_GATE_MAX = 0.35

#: Severities of a named severity table (CE sums over these).
TABLE_SEVERITIES = (1, 2, 3, 4, 5)


def codec_pair_block(table: Table, cell_ids: Sequence[str]) -> dict[str, Any]:
    """Per-clip max - min of p_fake over ``cell_ids``, on clips scored in all of them."""
    cell_ids = [str(c) for c in cell_ids]
    block: dict[str, Any] = {
        "cells": cell_ids,
        "n": 0,
        "mean": None,
        "max": None,
        "gate_mean": CODEC_PAIR_GATE_MEAN,
        "gate_max": CODEC_PAIR_GATE_MAX,
        "pass": None,
        "note": None,
    }
    missing = [c for c in cell_ids if c not in table.ok]
    if len(cell_ids) < 2 or missing:
        block["note"] = (
            f"cells not in this sweep: {missing}" if missing else "needs at least two cells"
        )
        return block
    common = set.intersection(*(set(table.ok[c]) for c in cell_ids))
    ids = sorted(common)
    block["n"] = len(ids)
    if not ids:
        block["note"] = "no clip was scored in every codec-pair cell"
        return block
    p = np.array([[table.ok[c][clip].p_fake for c in cell_ids] for clip in ids])
    delta = codec_pair_delta(p)
    block["mean"] = float(delta.mean())
    block["max"] = float(delta.max())
    block["pass"] = bool(block["mean"] <= CODEC_PAIR_GATE_MEAN and block["max"] <= CODEC_PAIR_GATE_MAX)
    return block


def _attacks(table: Table) -> list[str]:
    return sorted({a for c, a in table.attacks.items() if a is not None and table.labels[c]})


def _attack_eers(
    table: Table, scored: Mapping[str, Any], ids: Sequence[str], attacks: Sequence[str]
) -> dict[str, float | None]:
    """EER per attack over ``ids``: the attack's spoof clips plus every bona fide clip of ``ids``."""
    bona = [c for c in ids if not table.labels[c]]
    out: dict[str, float | None] = {}
    for attack in attacks:
        spoof = [c for c in ids if table.labels[c] and table.attacks[c] == attack]
        if not bona or not spoof:
            out[attack] = None
            continue
        subset = bona + spoof
        scores = [scored[c].raw_score for c in subset]
        labels = [0] * len(bona) + [1] * len(spoof)
        out[attack] = compute_eer(scores, labels)[0]
    return out


def per_attack_block(table: Table) -> dict[str, dict[str, float | None]]:
    """``{cell_id: {attack: eer}}`` when spoof clips carry attack names, else ``{}``.

    An attack's EER uses that attack's spoof clips **and all bona fide clips** of the
    same set (a class-conditional EER needs the negatives). For a corrupted cell the
    set is the clips scored in both clean and the cell (paired), as for every cell
    metric; for ``clean`` it is every clip scored clean. ``None`` when a class is
    missing. Subtracting ``per_attack["clean"]`` from a cell's value mixes clip sets
    when a clip failed; ``per_attack_delta_block`` gives the paired difference.
    """
    attacks = _attacks(table)
    if not attacks:
        return {}
    return {cell_id: _attack_eers(table, table.ok[cell_id], ids, attacks) for cell_id, ids in _attack_sets(table)}


def _attack_sets(table: Table) -> list[tuple[str, list[str]]]:
    """``(cell_id, clip ids)`` of every cell's per-attack set: paired clips, or every clean clip for ``clean``."""
    clean_ok = set(table.ok.get(CLEAN_CELL_ID, {}))
    return [
        (cell_id, sorted(set(scored) if cell_id == CLEAN_CELL_ID else set(scored) & clean_ok))
        for cell_id, scored in table.ok.items()
    ]


def per_attack_counts_block(table: Table) -> dict[str, dict[str, dict[str, Any]]]:
    """``{cell_id: {attack: {n_bonafide, n_spoof, small_n}}}``: the clips behind each ``per_attack`` EER.

    The same sets as :func:`per_attack_block` (``n_bonafide``: every bona fide clip of
    the set, ``n_spoof``: the attack's spoof clips); ``small_n`` when either is below
    :data:`~audiostress.metrics.diagnostics.SMALL_N`. ``{}`` without attack metadata.
    """
    attacks = _attacks(table)
    if not attacks:
        return {}
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for cell_id, ids in _attack_sets(table):
        n_bona = sum(1 for c in ids if not table.labels[c])
        entry: dict[str, dict[str, Any]] = {}
        for attack in attacks:
            n_spoof = sum(1 for c in ids if table.labels[c] and table.attacks[c] == attack)
            entry[attack] = {"n_bonafide": n_bona, "n_spoof": n_spoof, "small_n": is_small_n(n_bona, n_spoof)}
        out[cell_id] = entry
    return out


def per_attack_delta_block(table: Table) -> dict[str, dict[str, float | None]]:
    """``{cell_id: {attack: eer(cell) - eer(clean)}}`` on the same (paired) clips, corrupted cells only.

    Both EERs of an entry use the clips scored in both clean and the cell, so a cell
    that leaves the scores unchanged has a delta of exactly 0 even when some of its
    clips failed. ``None`` when a class is missing; ``{}`` without attack metadata.
    """
    attacks = _attacks(table)
    if not attacks:
        return {}
    clean = table.ok.get(CLEAN_CELL_ID, {})
    out: dict[str, dict[str, float | None]] = {}
    for cell_id, scored in table.ok.items():
        if cell_id == CLEAN_CELL_ID:
            continue
        ids = sorted(set(scored) & set(clean))
        mine, base = _attack_eers(table, scored, ids, attacks), _attack_eers(table, clean, ids, attacks)
        out[cell_id] = {a: _difference(mine[a], base[a]) for a in attacks}
    return out


def _difference(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


def table_series(cell: Mapping[str, Any], severity: int) -> str | None:
    """The series a table-severity cell belongs to, or None for any other cell.

    A cell that carries ``series`` (metrics.json from this version on) is a point of
    its table's curve when the series is not the cell itself (explicit parameters and
    overrides are series of their own). Older files have no ``series``: the cell id
    must then be the series followed by ``@severity``.
    """
    cell_id = str(cell.get("cell_id"))
    series = cell.get("series")
    if isinstance(series, str) and series:
        return series if series != cell_id else None
    suffix = f"@{severity}"
    return cell_id[: -len(suffix)] if cell_id.endswith(suffix) and len(cell_id) > len(suffix) else None


def _severity_eers(cells: Sequence[Mapping[str, Any]]) -> dict[str, dict[int, float]]:
    """``{series: {severity: eer}}`` for table-severity cells with an EER.

    The series is the corruption name, or ``name[table]`` for a non-default table,
    so different tables never mix. Cells with parameter overrides
    (``mp3@3{bitrate_kbps=24}``) or explicit parameters are not table severities and
    are left out.
    """
    out: dict[str, dict[int, float]] = {}
    for cell in cells:
        sev, eer = cell.get("severity"), cell.get("eer")
        if not isinstance(sev, int) or isinstance(sev, bool) or sev not in TABLE_SEVERITIES:
            continue
        series = table_series(cell, sev)
        if eer is None or not math.isfinite(eer) or series is None:
            continue
        out.setdefault(series, {})[sev] = float(eer)
    return out


def _mean_finite(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def corruption_error_block(
    cells: Sequence[Mapping[str, Any]], clean_eer: float | None, reference: Mapping[str, Any]
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """CE and relative CE per corruption against another sweep's ``metrics.json``.

    Returns ``({group: {ce, relative_ce, severities, missing_severities, note}},
    {detector, clean_eer, mce, relative_mce})``. Sums run over the severities (of
    1..5) where both sweeps have an EER; the used and the missing severities are
    listed. ``mce`` / ``relative_mce`` average the corruptions' finite values.
    """
    ref_cells = reference.get("cells") or []
    ref_clean = (reference.get("clean") or {}).get("eer")
    ref_eers = _severity_eers(ref_cells)
    per: dict[str, dict[str, Any]] = {}
    for corruption, mine in _severity_eers(cells).items():
        theirs = ref_eers.get(corruption, {})
        sevs = sorted(set(mine) & set(theirs))
        entry: dict[str, Any] = {
            "ce": None,
            "relative_ce": None,
            "severities": sevs,
            "missing_severities": [s for s in TABLE_SEVERITIES if s not in sevs],
            "note": None,
        }
        if not sevs:
            entry["note"] = "no severity with an EER in both this sweep and the reference"
        else:
            ce, rel = corruption_error(
                {s: mine[s] for s in sevs}, {s: theirs[s] for s in sevs}, clean_eer, ref_clean
            )
            entry["ce"], entry["relative_ce"] = ce, rel
            if not math.isfinite(ce):
                entry["note"] = "reference EER sums to 0 over these severities"
        per[corruption] = entry
    provenance = reference.get("provenance") or {}
    summary = {
        "detector": provenance.get("detector"),
        "clean_eer": ref_clean,
        "mce": _mean_finite([e["ce"] for e in per.values()]),
        "relative_mce": _mean_finite([e["relative_ce"] for e in per.values()]),
    }
    return per, summary
