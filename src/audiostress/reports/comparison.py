"""Compare detectors fairly: comparability check, intersection, ranking score, paired significance.

:func:`compare_sweeps` takes several sweep directories (or loaded
:class:`~audiostress.reports.load.Sweep` objects, ``scores.csv`` included) and
returns the content of ``comparison.json`` (:func:`write_comparison` writes it):

- **Comparability.** ``differences`` lists, one entry ``{what, message, values}``
  each, what differs between the sweeps: ``clips`` (the clip ids of scores.csv),
  ``labels`` (a clip labelled differently), ``cells`` (the grids' cell ids),
  ``dataset`` (provenance format and class counts), ``seed``, ``corrupt_rate``,
  ``partial`` (a sweep that is not complete) and ``scores`` (a sweep without
  scores.csv: no intersection possible). ``values`` maps each detector to its value.
  ``comparable`` is true when the list is empty.
- **Intersection.** Everything below is computed on the same (clip, cell) pairs for
  every detector: the *common cells* are the corrupted cells every sweep has and in
  which every sweep scored at least one clip (the others are listed in
  ``dropped.cells``); the *common clips* are the clips every sweep has, with the same
  label, scored without error in the clean cell and in every common cell by every
  sweep (``dropped.clips_with_failures`` counts the shared clips left out because
  some pair of them failed). Each detector's metrics are rebuilt from its rows on
  that rectangle with :func:`audiostress.metrics.build_metrics`, so every definition
  (EER, clean threshold, flip rate) is metrics.json's. ``common_clips`` and
  ``common_cells`` are the counts (``common_cells`` without clean).
- **Ranking.** ``score`` is the mean EER over the clean cell and every common cell
  (a reference-free mCE): it charges clean errors too, so a detector that is wrong
  on clean audio cannot rank first by changing little. Lower is better;
  ``mean_flip_rate`` (over the common cells, at each detector's clean threshold) is
  given beside it and breaks ties. With a ``reference`` metrics.json, each entry
  also has ``mce`` and ``relative_mce`` and ``corruption_errors`` ``{series: {ce,
  relative_ce}}``, numbers (``null`` without a reference).
- **Paired significance.** ``pairwise`` has one entry per pair of detectors (``a``
  ranked above ``b``): ``eer_diff`` = score(b) - score(a) with ``eer_diff_ci95``
  from a paired bootstrap (clips resampled stratified by label, both detectors and
  every cell on the same resample; ``n_bootstrap`` draws from ``seed``),
  ``clean_eer_diff`` with its CI (the clean cell alone, the same resamples), and
  McNemar's exact test on the clean decisions (each detector at its own clean
  threshold; ``mcnemar_b``: clips a gets right and b wrong, ``mcnemar_c`` the
  reverse, ``mcnemar_p_value``). ``significant`` is true when ``eer_diff_ci95``
  excludes 0. Each ranking entry's ``significant_vs_next`` repeats it for the
  detector ranked just below (``null`` for the last, or without a CI).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics._atomic import write_atomic
from ..metrics._table import json_safe
from ..metrics.bootstrap import percentile_interval, resample_weights, weighted_eers
from ..metrics.paired import mcnemar, paired_bootstrap_eer_diff
from ..metrics.summary import build_metrics
from .load import Sweep, load_sweeps

__all__ = ["COMPARISON_NAME", "compare_sweeps", "write_comparison"]

COMPARISON_NAME = "comparison.json"
_CLEAN = "clean"
#: Differing values listed per ``clips``/``cells`` difference message.
_SHOWN = 5


def _as_sweeps(sweeps: Sequence[Sweep | str | os.PathLike[str]]) -> list[Sweep]:
    if len(sweeps) < 2:
        raise ValueError(f"compare_sweeps: expected at least two sweeps, got {len(sweeps)}")
    if all(isinstance(s, Sweep) for s in sweeps):
        return [s for s in sweeps if isinstance(s, Sweep)]
    if any(isinstance(s, Sweep) for s in sweeps):
        raise ValueError("compare_sweeps: give either sweep directories or loaded Sweep objects, not a mix")
    return load_sweeps([Path(s) for s in sweeps if not isinstance(s, Sweep)])


def _ok(row: Mapping[str, Any]) -> bool:
    raw, p = row.get("raw_score"), row.get("p_fake")
    return row.get("error") in (None, "") and isinstance(raw, float) and isinstance(p, float) and math.isfinite(raw) and math.isfinite(p)


def _cell_ids(sweep: Sweep) -> list[str]:
    return [str(c.get("cell_id")) for c in sweep.cells]


def _difference(what: str, message: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {"what": what, "message": message, "values": dict(values)}


def _set_difference(what: str, sets: Mapping[str, set[str]], noun: str) -> dict[str, Any] | None:
    common = set.intersection(*sets.values())
    if all(s == common for s in sets.values()):
        return None
    parts = []
    for name, s in sets.items():
        extra = sorted(s - common)
        shown = ", ".join(extra[:_SHOWN]) + (", ..." if len(extra) > _SHOWN else "")
        parts.append(f"{name}: {len(s)} {noun}" + (f" ({len(extra)} not in every sweep: {shown})" if extra else ""))
    message = f"{noun} differ: " + "; ".join(parts) + f"; compared on the {len(common)} in common"
    return _difference(what, message, {name: len(s) for name, s in sets.items()})


def _value_difference(what: str, values: Mapping[str, Any], label: str) -> dict[str, Any] | None:
    shown = [json.dumps(v, sort_keys=True, default=str) for v in values.values()]
    if len(set(shown)) <= 1:
        return None
    listed = "; ".join(f"{name}: {text}" for name, text in zip(values, shown))
    return _difference(what, f"{label} differs: {listed}", values)


def _dataset_key(sweep: Sweep) -> dict[str, Any]:
    dataset = sweep.provenance.get("dataset")
    d = dataset if isinstance(dataset, Mapping) else {}
    return {k: d.get(k) for k in ("format", "n", "n_bonafide", "n_spoof")}


def _labels(sweep: Sweep) -> dict[str, str]:
    return {str(r["clip_id"]): str(r.get("label")) for r in sweep.rows or []}


def _differences(sweeps: Sequence[Sweep]) -> list[dict[str, Any]]:
    names = [s.name for s in sweeps]
    found: list[dict[str, Any] | None] = []
    missing = [s.name for s in sweeps if s.rows is None]
    if missing:
        found.append(_difference("scores", f"no readable scores.csv for {', '.join(missing)}: the clips cannot be "
                                 "intersected, so the ranking uses each sweep's own metrics.json and has no paired tests",
                                 {s.name: s.rows is not None for s in sweeps}))  # fmt: skip
    else:
        labels = [_labels(s) for s in sweeps]
        found.append(_set_difference("clips", dict(zip(names, (set(lab) for lab in labels))), "clips"))
        common = set.intersection(*(set(lab) for lab in labels))
        clash = sorted(c for c in common if len({lab[c] for lab in labels}) > 1)
        if clash:
            found.append(_difference("labels", f"{len(clash)} clips carry different labels across the sweeps "
                                     f"({', '.join(clash[:_SHOWN])}); they are left out", {n: len(clash) for n in names}))
    found.append(_set_difference("cells", {s.name: set(_cell_ids(s)) for s in sweeps}, "cells"))
    found.append(_value_difference("dataset", {s.name: _dataset_key(s) for s in sweeps}, "the dataset"))
    found.append(_value_difference("seed", {s.name: s.provenance.get("seed") for s in sweeps}, "the sweep seed"))
    found.append(_value_difference("corrupt_rate", {s.name: s.provenance.get("corrupt_rate") for s in sweeps},
                                   "the corruption sample rate"))  # fmt: skip
    partial = {s.name: s.partial_reasons for s in sweeps if s.partial}
    if partial:
        found.append(_difference("partial", "partial sweeps: " + "; ".join(f"{n}: {', '.join(r)}" for n, r in partial.items()),
                                 partial))  # fmt: skip
    return [d for d in found if d is not None]


class _Rectangle:
    """The (clip, cell) pairs every sweep scored: common cells, common clips, each sweep's rows on them."""

    def __init__(self, sweeps: Sequence[Sweep]) -> None:
        #: Per sweep name: {cell_id: {clip_id: row}} of the rows scored without error.
        self._scored: dict[str, dict[str, dict[str, Mapping[str, Any]]]] = {}
        for s in sweeps:
            index = self._scored.setdefault(s.name, {})
            for r in s.rows or []:
                if _ok(r):
                    index.setdefault(str(r["cell_id"]), {})[str(r["clip_id"])] = r
        ok = [{(clip, cell) for cell, by_clip in self._scored[s.name].items() for clip in by_clip} for s in sweeps]
        shared_cells = [c for c in _cell_ids(sweeps[0]) if all(c in _cell_ids(s) for s in sweeps[1:])]
        self.dropped_cells = [
            {"cell_id": c, "reason": f"no clip scored by {', '.join(s.name for s, k in zip(sweeps, ok) if not any(p[1] == c for p in k))}"}
            for c in shared_cells if any(not any(p[1] == c for p in k) for k in ok)
        ]  # fmt: skip
        dropped = {d["cell_id"] for d in self.dropped_cells}
        self.cells = [c for c in shared_cells if c not in dropped]
        labels = [_labels(s) for s in sweeps]
        shared = {c for c in set.intersection(*(set(lab) for lab in labels)) if len({lab[c] for lab in labels}) == 1}
        wanted = [_CLEAN, *self.cells]
        self.clips = sorted(c for c in shared if all((c, cell) in k for k in ok for cell in wanted))
        self.clips_with_failures = len(shared) - len(self.clips)
        self.labels = np.array([labels[0][c] == "spoof" for c in self.clips], dtype=bool)

    def metrics(self, sweep: Sweep, reference: Mapping[str, Any] | None) -> dict[str, Any]:
        """``sweep``'s metrics.json rebuilt on the rectangle (no bootstrap)."""
        clips, cells = set(self.clips), {_CLEAN, *self.cells}
        rows = [r for r in sweep.rows or [] if r["clip_id"] in clips and r["cell_id"] in cells]
        specs = [{"cell_id": _CLEAN, "corruption": _CLEAN, "severity": 0, "params": {}, "family": _CLEAN}]
        specs += [c for c in sweep.cells if c.get("cell_id") in cells]
        return build_metrics(rows, specs, sweep.provenance, reference=reference, n_bootstrap=0)

    def scores(self, sweep: Sweep, cell_id: str) -> np.ndarray:
        """``sweep``'s raw scores of the common clips in ``cell_id`` (clip-id order)."""
        by_clip = self._scored[sweep.name][cell_id]
        return np.array([by_clip[c]["raw_score"] for c in self.clips], dtype=np.float64)


def _mean(values: Sequence[Any]) -> float | None:
    vals = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def _entry(name: str, m: Mapping[str, Any], reference: bool) -> dict[str, Any]:
    clean = m.get("clean") or {}
    cells = [c for c in m.get("cells") or [] if c.get("cell_id") != _CLEAN]
    eers = [clean.get("eer"), *(c.get("eer") for c in cells)]
    ref = m.get("corruption_error_reference") or {}
    errors = m.get("corruption_errors") or {}
    return {
        "detector": name,
        "score": _mean(eers) if clean.get("eer") is not None else None,
        "mean_flip_rate": _mean([c.get("flip_rate") for c in cells]),
        "clean_eer": clean.get("eer"),
        "mean_delta_eer": _mean([c.get("delta_eer") for c in cells]),
        "n_clips": clean.get("n"),
        "n_cells": len(cells),
        "mce": ref.get("mce") if reference else None,
        "relative_mce": ref.get("relative_mce") if reference else None,
        "corruption_errors": {k: {"ce": v.get("ce"), "relative_ce": v.get("relative_ce")} for k, v in errors.items()}
        if reference else None,
    }  # fmt: skip


def _rank(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(e: dict[str, Any]) -> tuple[Any, ...]:
        flip = e["mean_flip_rate"]
        return (e["score"] is None, e["score"] or 0.0, flip is None, flip or 0.0, e["detector"])

    ranked = sorted(entries, key=key)
    for k, e in enumerate(ranked, start=1):
        e["rank"] = k
    return ranked


def _pairwise(
    rect: _Rectangle, sweeps: Mapping[str, Sweep], ranked: Sequence[Mapping[str, Any]], metrics: Mapping[str, Mapping[str, Any]],
    n_bootstrap: int, seed: int, level: float,
) -> list[dict[str, Any]]:  # fmt: skip
    y = rect.labels
    if not (y.any() and not y.all()):
        return []
    cells = [_CLEAN, *rect.cells]
    weights = resample_weights(y, n=n_bootstrap, seed=seed) if n_bootstrap else None
    samples: dict[str, np.ndarray] = {}
    if weights is not None:  # each detector's score on every resample: the mean over cells of the resampled EERs
        for name in sweeps:
            samples[name] = np.mean([weighted_eers(rect.scores(sweeps[name], c), y, weights) for c in cells], axis=0)
    out = []
    for ea, eb in combinations(ranked, 2):
        a, b = str(ea["detector"]), str(eb["detector"])
        clean_a, clean_b = rect.scores(sweeps[a], _CLEAN), rect.scores(sweeps[b], _CLEAN)
        clean = paired_bootstrap_eer_diff(clean_a, clean_b, y, n=n_bootstrap, seed=seed, level=level)
        right = [(rect.scores(sweeps[n], _CLEAN) >= metrics[n]["clean"]["threshold"]) == y for n in (a, b)]
        test = mcnemar(right[0], right[1])
        ci = list(percentile_interval(samples[b] - samples[a], level)) if weights is not None else None
        out.append({
            "a": a, "b": b, "n": int(y.size),
            "eer_diff": eb["score"] - ea["score"] if ea["score"] is not None and eb["score"] is not None else None,
            "eer_diff_ci95": ci,
            "clean_eer_diff": clean.point, "clean_eer_diff_ci95": list(clean.ci95) if clean.ci95 else None,
            "mcnemar_b": test.b, "mcnemar_c": test.c, "mcnemar_p_value": test.p_value,
            "significant": bool(ci[0] > 0.0 or ci[1] < 0.0) if ci is not None else None,
        })  # fmt: skip
    return out


def _load_reference(reference: Mapping[str, Any] | str | os.PathLike[str] | None) -> Mapping[str, Any] | None:
    if reference is None or isinstance(reference, Mapping):
        return reference
    path = Path(reference)
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"compare_sweeps: cannot read `reference` {str(path)!r} ({exc}); pass a metrics.json") from exc
    if not isinstance(loaded, dict):
        raise ValueError(f"compare_sweeps: `reference` {str(path)!r} is not a metrics.json object")
    return loaded


def compare_sweeps(
    sweeps: Sequence[Sweep | str | os.PathLike[str]],
    *,
    reference: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """The ``comparison.json`` content for two or more sweeps (see the module docstring).

    ``sweeps``: sweep directories or loaded :class:`~audiostress.reports.load.Sweep`
    objects (their ``name`` is the detector's name in the output). ``reference``: a
    reference detector's metrics.json (a mapping or its path) for CE / relative CE.
    ``n_bootstrap=0`` skips the bootstrap (CIs and ``significant`` are null).
    """
    if int(n_bootstrap) != n_bootstrap or n_bootstrap < 0:
        raise ValueError(f"compare_sweeps: expected `n_bootstrap` >= 0, got {n_bootstrap}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"compare_sweeps: expected `level` in (0, 1), got {level}")
    loaded = _as_sweeps(sweeps)
    names = [s.name for s in loaded]
    if len(set(names)) != len(names):
        raise ValueError(f"compare_sweeps: detector names must be unique, got {names}; give each Sweep its own name")
    ref = _load_reference(reference)
    differences = _differences(loaded)
    by_name = {s.name: s for s in loaded}
    result: dict[str, Any] = {
        "schema": 1,
        "detectors": list(by_name),
        "sweeps": [{"detector": s.name, "path": str(s.path)} for s in loaded],
        "comparable": not differences,
        "differences": differences,
        "ranking_score": "mean EER over the clean cell and every common corrupted cell, on the common clips (lower = better)",
        "settings": {"n_bootstrap": int(n_bootstrap), "seed": int(seed), "ci_level": level,
                     "significant": "eer_diff_ci95 excludes 0", "mcnemar": "exact, on clean decisions at each "
                     "detector's clean threshold"},  # fmt: skip
    }
    if any(s.rows is None for s in loaded):  # no intersection possible: each sweep's own numbers, no paired tests
        ranked = _rank([_entry(s.name, s.metrics, False) for s in loaded])
        result.update(common_clips=None, common_cells=None, common_cell_ids=None,
                      dropped={"cells": [], "clips_with_failures": None}, ranking=ranked, pairwise=[])  # fmt: skip
        return json_safe(result)
    rect = _Rectangle(loaded)
    metrics = {s.name: rect.metrics(s, ref) for s in loaded} if rect.clips else {}
    ranked = _rank([_entry(s.name, metrics.get(s.name, {}), ref is not None) for s in loaded])
    pairwise = _pairwise(rect, by_name, ranked, metrics, int(n_bootstrap), int(seed), level) if rect.clips else []
    significant = {(p["a"], p["b"]): p["significant"] for p in pairwise}
    for above, below in zip(ranked, [*ranked[1:], None]):
        above["significant_vs_next"] = significant.get((above["detector"], below["detector"])) if below else None
    result.update(
        common_clips=len(rect.clips), common_cells=len(rect.cells), common_cell_ids=rect.cells,
        dropped={"cells": rect.dropped_cells, "clips_with_failures": rect.clips_with_failures},
        ranking=ranked, pairwise=pairwise,
    )  # fmt: skip
    return json_safe(result)


def write_comparison(comparison: Mapping[str, Any], out_dir: str | os.PathLike[str]) -> Path:
    """Write ``comparison`` as ``out_dir/comparison.json`` (sorted, indented, no NaN), atomically; returns the path."""
    target = Path(out_dir) / COMPARISON_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(json_safe(comparison), sort_keys=True, indent=2, allow_nan=False) + "\n"
    return write_atomic(target, text)
