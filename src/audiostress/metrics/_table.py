"""Private: turn the sweep's row table into per-cell score maps, and JSON-safe output.

Rows are :class:`audiostress.runners.rows.ScoreRow` objects or mappings keyed by
its field names (``scores.csv`` rows read back, store rows); the columns read here
are named from that one schema.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..runners.rows import KEY_COLUMNS, SCORE_COLUMNS, ScoreRow

CLEAN_CELL_ID = "clean"

#: Columns every row must have; the other ``SCORE_COLUMNS`` may be absent (read as empty).
REQUIRED_COLUMNS: tuple[str, ...] = (*KEY_COLUMNS, "label")

_LABELS = {"bonafide": False, "bona-fide": False, "bona_fide": False, "spoof": True}


@dataclass(frozen=True)
class Scored:
    """One successfully scored (clip, cell)."""

    raw_score: float
    p_fake: float
    measured_snr_db: float | None
    #: The detector's time on this clip (ms) and the clip's duration (s), when the row records them.
    detect_ms: float | None = None
    audio_s: float | None = None


@dataclass
class Table:
    """Rows regrouped: clip metadata, scored rows per cell, failures."""

    labels: dict[str, bool] = field(default_factory=dict)  # clip_id -> True = spoof
    attacks: dict[str, str | None] = field(default_factory=dict)
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)  # cell_id -> cell spec, in grid order
    ok: dict[str, dict[str, Scored]] = field(default_factory=dict)  # cell_id -> clip_id -> scored
    errors: list[dict[str, str | None]] = field(default_factory=list)
    error_counts: dict[str, int] = field(default_factory=dict)
    #: Rows (scored or failed) whose detector call was retried (``retries > 0``).
    retried: int = 0


def _float_or_none(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _label(value: Any, row_index: int, clip_id: str) -> bool:
    key = str(value).strip().lower()
    if key not in _LABELS:
        raise ValueError(
            f"build_metrics: row {row_index} (clip {clip_id!r}) has label {value!r}; "
            "expected 'bonafide' or 'spoof'"
        )
    return _LABELS[key]


def _retries(value: Any) -> int:
    """A row's ``retries`` (absent, empty or unreadable -> 0)."""
    try:
        return int(float(value)) if value not in (None, "") else 0
    except (TypeError, ValueError):
        return 0


def _score_problem(raw: float | None, p: float | None) -> str | None:
    if raw is None or p is None or not (math.isfinite(raw) and math.isfinite(p)):
        return f"non-finite or missing score (raw_score={raw}, p_fake={p})"
    return None


def _as_mapping(row: ScoreRow | Mapping[str, Any], index: int) -> Mapping[str, Any]:
    if isinstance(row, ScoreRow):
        return row.as_dict()
    missing = [c for c in REQUIRED_COLUMNS if c not in row]
    if missing:
        raise ValueError(
            f"build_metrics: row {index} lacks column {missing[0]!r}; rows need {', '.join(REQUIRED_COLUMNS)} "
            f"(and may carry the rest of {', '.join(c for c in SCORE_COLUMNS if c not in REQUIRED_COLUMNS)})"
        )
    return row


def build_table(rows: Sequence[ScoreRow | Mapping[str, Any]], cells: Sequence[Mapping[str, Any]]) -> Table:
    """Group rows by cell; rows with an error (or a non-finite score) become failures."""
    table = Table()
    for cell in cells:
        cid = str(cell["cell_id"])
        table.cells[cid] = dict(cell)
        table.ok.setdefault(cid, {})
        table.error_counts.setdefault(cid, 0)
    seen: set[tuple[str, str]] = set()
    for i, given in enumerate(rows):
        row = _as_mapping(given, i)
        clip_id, cell_id = str(row["clip_id"]), str(row["cell_id"])
        if (clip_id, cell_id) in seen:
            raise ValueError(f"build_metrics: duplicate row for clip {clip_id!r} in cell {cell_id!r}")
        seen.add((clip_id, cell_id))
        label = _label(row["label"], i, clip_id)
        if table.labels.setdefault(clip_id, label) != label:
            raise ValueError(f"build_metrics: clip {clip_id!r} has both labels across rows")
        attack = row.get("attack")
        table.attacks.setdefault(clip_id, str(attack) if attack not in (None, "") else None)
        if cell_id not in table.cells:  # a row for a cell the grid did not list: keep it
            table.cells[cell_id] = {
                "cell_id": cell_id,
                "corruption": row.get("corruption"),
                "severity": row.get("severity"),
                "params": {},
            }
            table.ok[cell_id] = {}
            table.error_counts[cell_id] = 0
        if _retries(row.get("retries")) > 0:
            table.retried += 1
        error = row.get("error")
        if isinstance(error, float) and math.isnan(error):  # an empty cell read through pandas
            error = None
        raw, p = _float_or_none(row.get("raw_score")), _float_or_none(row.get("p_fake"))
        problem = str(error) if error not in (None, "") else _score_problem(raw, p)
        if problem is None and raw is not None and p is not None:
            table.ok[cell_id][clip_id] = Scored(
                raw, p, _float_or_none(row.get("measured_snr_db")),
                _float_or_none(row.get("detect_ms")), _float_or_none(row.get("audio_s")),
            )  # fmt: skip
            continue
        table.errors.append({"clip_id": clip_id, "cell_id": cell_id, "error": problem or "missing score"})
        table.error_counts[cell_id] += 1
    order = {cid: k for k, cid in enumerate(table.cells)}
    table.errors.sort(key=lambda e: (order[str(e["cell_id"])], str(e["clip_id"])))
    return table


@dataclass(frozen=True)
class Paired:
    """Arrays over the clips scored in both clean and one cell (sorted by clip id)."""

    clip_ids: list[str]
    labels: np.ndarray  # bool, True = spoof
    clean_raw: np.ndarray
    cell_raw: np.ndarray
    clean_p: np.ndarray
    cell_p: np.ndarray
    snr_db: list[float | None]


def paired(table: Table, cell_id: str, clean_id: str = CLEAN_CELL_ID) -> Paired:
    cell = table.ok.get(cell_id, {})
    clean = table.ok.get(clean_id, {})
    ids = sorted(set(cell) & set(clean))
    return Paired(
        clip_ids=ids,
        labels=np.array([table.labels[c] for c in ids], dtype=bool),
        clean_raw=np.array([clean[c].raw_score for c in ids], dtype=np.float64),
        cell_raw=np.array([cell[c].raw_score for c in ids], dtype=np.float64),
        clean_p=np.array([clean[c].p_fake for c in ids], dtype=np.float64),
        cell_p=np.array([cell[c].p_fake for c in ids], dtype=np.float64),
        snr_db=[cell[c].measured_snr_db for c in ids],
    )


def json_safe(obj: Any) -> Any:
    """Recursively convert to plain JSON types; nan/inf become None."""
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=str) if isinstance(obj, (set, frozenset)) else obj
        return [json_safe(v) for v in items]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return str(obj)
