"""Read a sweep directory (``metrics.json`` + ``scores.csv``) for the report.

The report re-derives nothing it can read: every metric comes from
``metrics.json``; ``scores.csv`` is only used for the score histograms. Its text
columns are written spreadsheet-safe (a leading ``'`` before ``=``, ``+``, ``-``,
``@``, see :mod:`audiostress.csv_safe`) and are unescaped here, so a clip id reads
back as the sweep knew it. A
missing ``metrics.json`` is an error; anything less than a complete sweep
(missing ``scores.csv``, fewer rows than clips x cells, fewer clips than the
dataset holds, a ``--shard`` run, cells of the grid without metrics) is loaded
and marked partial with the reasons.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from ..csv_safe import unescape_cell

#: Columns of scores.csv parsed as floats (empty string -> None).
_FLOAT_COLUMNS = ("raw_score", "p_fake", "measured_snr_db")
#: Text columns of scores.csv, written spreadsheet-safe (``audiostress.csv_safe``) and unescaped on reading.
_TEXT_COLUMNS = ("clip_id", "label", "attack", "cell_id", "corruption", "error", "note")


class ReportError(ValueError):
    """A sweep directory cannot be reported; the message names the directory and the fix."""


@dataclass
class Sweep:
    """One sweep directory as the report sees it."""

    path: Path
    metrics: dict[str, Any]
    rows: list[dict[str, Any]] | None
    name: str
    partial_reasons: list[str] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        return bool(self.partial_reasons)

    @property
    def cells(self) -> list[dict[str, Any]]:
        """Corrupted cells (the clean cell, if listed in ``cells``, is left out)."""
        return [c for c in self.metrics.get("cells", []) if c.get("cell_id") != "clean"]

    @property
    def clean(self) -> dict[str, Any]:
        return dict(self.metrics.get("clean") or {})

    @property
    def provenance(self) -> dict[str, Any]:
        return dict(self.metrics.get("provenance") or {})


def load_sweep(path: str | Path) -> Sweep:
    """Load ``path`` (a sweep directory); raise ``ReportError`` if it has no readable metrics.json."""
    root = Path(path)
    if not root.exists():
        raise ReportError(f"{root}: sweep directory not found")
    if not root.is_dir():
        raise ReportError(f"{root}: expected a sweep directory, got a file")
    metrics_path = root / "metrics.json"
    if not metrics_path.exists():
        raise ReportError(
            f"{root}: no metrics.json; run `audiostress sweep --out {root} ...` first "
            "(a sweep writes metrics.json when it finishes or is resumed)"
        )
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{metrics_path}: unreadable metrics.json ({exc})") from exc
    if not isinstance(metrics, dict) or not isinstance(metrics.get("cells", []), list):
        raise ReportError(f"{metrics_path}: not an audiostress metrics.json (expected an object with `cells`)")
    reasons: list[str] = []
    rows = _read_scores(root / "scores.csv", reasons)
    _check_complete(metrics, rows, reasons)
    return Sweep(root, metrics, rows, detector_name(metrics, root), reasons)


def load_sweeps(paths: list[Path]) -> list[Sweep]:
    """Load several directories; detector names are made unique (``name (dir)``) for overlays."""
    sweeps = [load_sweep(p) for p in paths]
    seen: dict[str, int] = {}
    for s in sweeps:
        seen[s.name] = seen.get(s.name, 0) + 1
    for s in sweeps:
        if seen[s.name] > 1:
            s.name = f"{s.name} ({s.path.name})"
    return sweeps


def detector_name(metrics: dict[str, Any], root: Path) -> str:
    """The detector's display name from provenance, else its spec, else the directory name."""
    det = (metrics.get("provenance") or {}).get("detector") or {}
    if isinstance(det, dict):
        for key in ("name", "spec"):
            if det.get(key):
                return str(det[key])
    elif det:
        return str(det)
    return root.resolve().name


def _read_scores(path: Path, reasons: list[str]) -> list[dict[str, Any]] | None:
    if not path.exists():
        reasons.append("scores.csv is missing: score distributions are not shown")
        return None
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = [dict(r) for r in csv.DictReader(f)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        reasons.append(f"scores.csv is unreadable ({exc})")
        return None
    for r in rows:
        for col in _TEXT_COLUMNS:
            if isinstance(r.get(col), str):
                r[col] = unescape_cell(r[col])
        for col in _FLOAT_COLUMNS:
            r[col] = _to_float(r.get(col))
        r["severity"] = _to_int(r.get("severity"))
        r["error"] = r.get("error") or None
        r["attack"] = r.get("attack") or None
    return rows


def _to_int(value: Any) -> int | None:
    """A severity column value: ``"3"`` -> 3; empty (explicit parameters) or not an integer -> None."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping, else an empty dict (a malformed or absent block)."""
    return dict(value) if isinstance(value, Mapping) else {}


def _to_float(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if not math.isnan(out) else None


def _check_complete(metrics: dict[str, Any], rows: list[dict[str, Any]] | None, reasons: list[str]) -> None:
    cov = _dict(metrics.get("coverage"))
    if isinstance(cov.get("pairs_missing"), int) and cov["pairs_missing"] > 0:
        reasons.append(f"{cov['pairs_missing']} of {cov.get('pairs_expected', '?')} (clip, cell) pairs were never scored")
    prov = _dict(metrics.get("provenance"))
    dataset = _dict(prov.get("dataset"))
    n_dataset, n_clips = dataset.get("n"), cov.get("clips")
    if _is_count(n_dataset) and _is_count(n_clips) and n_clips < n_dataset:
        reasons.append(f"only {n_clips} of the dataset's {n_dataset} clips have scores")
    run = _dict(prov.get("run"))
    if run.get("shard") is not None:
        reasons.append(f"this is shard {run['shard']} of the sweep (combine the shards with `audiostress merge`)")
    cell_ids = {str(c.get("cell_id")) for c in metrics.get("cells", [])} | {"clean"}
    grid_ids = _grid_cell_ids(metrics)
    missing = sorted(grid_ids - cell_ids)
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        reasons.append(f"{len(missing)} grid cell(s) have no metrics: {shown}")
    if rows is None:
        return
    clips = {r.get("clip_id") for r in rows}
    all_ids = cell_ids | grid_ids
    expected = len(clips) * len(all_ids)
    pairs = {(r.get("clip_id"), r.get("cell_id")) for r in rows}
    if len(pairs) < expected:
        reasons.append(
            f"scores.csv holds {len(pairs)} of {expected} (clip, cell) pairs "
            f"({len(clips)} clips x {len(all_ids)} cells): the sweep did not finish"
        )
    n_clean = (metrics.get("clean") or {}).get("n")
    n_clean_rows = sum(1 for r in rows if r.get("cell_id") == "clean" and not r.get("error"))
    if isinstance(n_clean, int) and n_clean_rows < n_clean:
        reasons.append(f"scores.csv has {n_clean_rows} clean scores but metrics.json counts {n_clean}")


def _is_count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _grid_cell_ids(metrics: dict[str, Any]) -> set[str]:
    """Cell ids of ``provenance.grid.cells``: plain strings (as sweeps write them) or dicts with ``cell_id``."""
    grid = (metrics.get("provenance") or {}).get("grid")
    if not isinstance(grid, dict) or not isinstance(grid.get("cells"), list):
        return set()
    ids = set()
    for c in grid["cells"]:
        if isinstance(c, str) and c:
            ids.add(c)
        elif isinstance(c, dict) and c.get("cell_id"):
            ids.add(str(c["cell_id"]))
    return ids
