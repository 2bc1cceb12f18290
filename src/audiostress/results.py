"""``SweepResult``: a finished sweep directory as typed Python objects and pandas frames.

A sweep directory holds ``metrics.json`` (the numbers), ``scores.csv`` (one row
per (clip, cell)) and ``results.sqlite`` (the store). ``load_results(dir)``
reads the first two; ``audiostress.sweep(...)`` returns the same object for the
directory it wrote, so both give equal frames.

>>> from audiostress.results import CellResult
>>> cell = CellResult.from_dict({"cell_id": "mp3@3", "corruption": "mp3", "severity": 3, "eer": 0.25,
...                              "delta_eer": 0.2, "eer_ci95": [0.1, 0.4], "n": 40})
>>> cell.delta_eer, cell.eer_ci95, cell["n"]
(0.2, (0.1, 0.4), 40)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .csv_safe import unescape_cell
from .results_html import sweep_html

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: Columns of ``scores.csv`` (DESIGN.md order) and the pandas dtype each is read as.
SCORE_DTYPES: dict[str, str] = {
    "clip_id": "string", "label": "string", "attack": "string", "cell_id": "string", "corruption": "string",
    "severity": "Int64", "raw_score": "float64", "p_fake": "float64", "measured_snr_db": "float64", "error": "string",
}  # fmt: skip


class ResultsError(ValueError):
    """A directory cannot be read as sweep results; the message names the file and the fix."""


def _interval(value: Any) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return float(value[0]), float(value[1])
    return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True)
class _Block:
    """Shared by the clean block and the cells: counts, the headline metrics and the raw JSON."""

    n: int = 0
    n_bonafide: int = 0
    n_spoof: int = 0
    errors: int = 0
    eer: float | None = None
    eer_ci95: tuple[float, float] | None = None
    auroc: float | None = None
    min_dcf: float | None = None
    act_dcf: float | None = None
    note: str | None = None
    #: Every key of this block in metrics.json, including ones added after this class was written.
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __getitem__(self, key: str) -> Any:
        """Any key of the block as metrics.json holds it (``cell["flip_rate"]``)."""
        return self.raw[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    @classmethod
    def _kwargs(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"raw": dict(data)}
        for f in fields(cls):
            if f.name == "raw" or f.name not in data:
                continue
            value = data[f.name]
            if f.name.endswith("_ci95"):
                out[f.name] = _interval(value)
            elif f.name in ("n", "n_bonafide", "n_spoof", "errors"):
                out[f.name] = _count(value)
            elif f.type in ("float | None",):
                out[f.name] = _number(value)
            else:
                out[f.name] = value
        return out


@dataclass(frozen=True)
class CleanResult(_Block):
    """The clean block: metrics on uncorrupted audio and the operating ``threshold`` (on raw_score)."""

    threshold: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CleanResult:
        return cls(**cls._kwargs(data))


@dataclass(frozen=True)
class CellResult(_Block):
    """One corrupted cell: its identity (corruption, severity or explicit params) and its paired metrics."""

    cell_id: str = ""
    corruption: str = ""
    severity: int | None = None
    table: str | None = None
    series: str | None = None
    axis: Mapping[str, Any] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    family: str | None = None
    delta_eer: float | None = None
    delta_eer_ci95: tuple[float, float] | None = None
    drift_mean_abs: float | None = None
    drift_mean_signed: float | None = None
    flip_rate: float | None = None
    fpr_at_clean_threshold: float | None = None
    fnr_at_clean_threshold: float | None = None
    measured_snr_db: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CellResult:
        kwargs = cls._kwargs(data)
        severity = data.get("severity")
        kwargs["severity"] = severity if isinstance(severity, int) and not isinstance(severity, bool) else None
        kwargs["cell_id"] = str(data.get("cell_id", ""))
        kwargs["corruption"] = str(data.get("corruption", ""))
        kwargs["params"] = dict(data.get("params") or {})
        kwargs["axis"] = dict(data["axis"]) if isinstance(data.get("axis"), Mapping) else None
        return cls(**kwargs)


@dataclass(frozen=True)
class ErrorEntry:
    """A (clip, cell) pair that could not be scored (``cell_id`` ``*``: a dataset row that never became a clip)."""

    clip_id: str
    cell_id: str
    error: str


@dataclass(frozen=True)
class RunStats:
    """What the invocation that returned this result did (absent for ``load_results``)."""

    n_scored: int
    n_errors: int
    n_skipped: int
    elapsed_s: float
    report: Path | None = None


@dataclass(frozen=True)
class SweepResult:
    """A sweep directory's results. ``clean`` and ``cells`` come from metrics.json; frames from scores.csv."""

    out_dir: Path
    metrics: Mapping[str, Any] = field(repr=False)
    run: RunStats | None = None

    # -- the numbers ------------------------------------------------------------------------
    @property
    def clean(self) -> CleanResult:
        return CleanResult.from_dict(self.metrics.get("clean") or {})

    @property
    def cells(self) -> list[CellResult]:
        """Corrupted cells in grid order (the clean cell is ``clean``)."""
        return [CellResult.from_dict(c) for c in self.metrics.get("cells") or [] if c.get("cell_id") != "clean"]

    def cell(self, cell_id: str) -> CellResult:
        """One cell by id, e.g. ``"mp3@3"`` or ``"mp3{bitrate_kbps=24}"``; raises ``KeyError`` listing the ids."""
        for cell in self.cells:
            if cell.cell_id == cell_id:
                return cell
        ids = ", ".join(c.cell_id for c in self.cells) or "none"
        raise KeyError(f"No cell {cell_id!r} in {self.out_dir}; cells: {ids} (clean metrics are in .clean)")

    def __iter__(self) -> Iterator[CellResult]:
        return iter(self.cells)

    @property
    def errors(self) -> list[ErrorEntry]:
        return [
            ErrorEntry(str(e.get("clip_id", "")), str(e.get("cell_id", "")), str(e.get("error", "")))
            for e in self.metrics.get("errors") or []
        ]

    @property
    def provenance(self) -> dict[str, Any]:
        return dict(self.metrics.get("provenance") or {})

    @property
    def coverage(self) -> dict[str, Any]:
        return dict(self.metrics.get("coverage") or {})

    @property
    def detector_name(self) -> str:
        det = self.provenance.get("detector")
        if isinstance(det, Mapping):
            return str(det.get("name") or det.get("spec") or self.out_dir.name)
        return str(det or self.out_dir.name)

    # -- frames ------------------------------------------------------------------------------
    def to_pandas(self, kind: Literal["scores", "cells"] = "scores") -> pd.DataFrame:
        """``"scores"``: one row per (clip, cell) with the scores.csv columns; ``"cells"``: one row per cell
        (clean first) with its metrics, intervals split into ``*_low``/``*_high`` and the axis into ``axis_*``."""
        if kind == "scores":
            return read_scores(self.out_dir / "scores.csv")
        if kind == "cells":
            return self._cells_frame()
        raise ValueError(f"Expected `kind` 'scores' or 'cells' for SweepResult.to_pandas, got {kind!r}")

    def _cells_frame(self) -> pd.DataFrame:
        import pandas as pd

        clean = {"cell_id": "clean", "corruption": "clean", "severity": 0, "delta_eer": 0.0, **(self.metrics.get("clean") or {})}
        records = [_flat(clean)] + [_flat(c) for c in self.metrics.get("cells") or [] if c.get("cell_id") != "clean"]
        frame = pd.DataFrame.from_records(records)
        if "severity" in frame:
            frame["severity"] = frame["severity"].astype("Int64")
        return frame

    def _repr_html_(self) -> str:
        return sweep_html(self)

    def __repr__(self) -> str:
        clean = self.clean
        eer = f"{clean.eer:.3f}" if clean.eer is not None else "n/a"
        return f"SweepResult({str(self.out_dir)!r}, detector={self.detector_name!r}, clean_eer={eer}, cells={len(self.cells)})"

    # -- listening -----------------------------------------------------------------------------
    def replay(self, clip_id: str, cell_id: str, out: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, int]:
        """The exact audio the detector scored for ``(clip_id, cell_id)``: ``([C, T] float32, sample_rate)``.

        With ``out`` it is also written as a float32 WAV. See ``audiostress.replay``.
        """
        from .replay import replay_pair

        return replay_pair(self.out_dir, clip_id, cell_id, out=out)

    # -- assertions ------------------------------------------------------------------------------
    def check(self, *gates: Any, ci: str | None = None, baseline: Any = None, min_n: int | None = None) -> Any:
        """Judge every gate (``"delta_eer[mp3@*] <= 0.05"``, ``"codec_pair.mean <= 0.15"``, ...) on this sweep.

        Returns the ``CheckReport`` when all pass; otherwise raises one ``GateFailure``
        (an ``AssertionError``) listing each failure. ``ci``: ``"point"`` (default),
        ``"strict"`` or ``"lenient"``; ``baseline``: a baseline file, a ``Baseline`` or a
        ``SweepResult`` for ``baseline ± X`` gates; ``min_n``: fewest clips per cell
        (default 30). See ``audiostress.testing.gates``.
        """
        __tracebackhide__ = True  # a failed gate is reported as the calling test's own failure
        from .testing.gates import check

        return check(self, *gates, ci=ci, baseline=baseline, min_n=min_n)


def _flat(block: Mapping[str, Any]) -> dict[str, Any]:
    """One metrics.json block as a flat record: CI pairs split, the axis spread out, nested dicts kept as JSON text."""
    out: dict[str, Any] = {}
    for key, value in block.items():
        if key.endswith("_ci95"):
            pair = _interval(value)
            out[f"{key}_low"], out[f"{key}_high"] = pair if pair else (None, None)
        elif key == "axis" and isinstance(value, Mapping):
            for sub in ("param", "unit", "value"):
                out[f"axis_{sub}"] = value.get(sub)
        elif isinstance(value, (Mapping, list)):
            out[key] = json.dumps(value, sort_keys=True)
        else:
            out[key] = value
    return out


def read_scores(path: str | os.PathLike[str]) -> pd.DataFrame:
    """``scores.csv`` as a DataFrame with typed columns; empty fields become ``<NA>`` (never the text "NA").

    Text columns come back as they were scored: the spreadsheet escaping of
    ``scores.csv`` (a leading ``'`` before ``=``, ``+``, ``-``, ``@``, tab, CR or ``'``;
    see ``audiostress.csv_safe``) is removed.
    """
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise ResultsError(f"{p}: no scores.csv (the sweep has not exported its scores; run or resume it)")
    frame = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])
    missing = [c for c in SCORE_DTYPES if c not in frame.columns]
    if missing:
        raise ResultsError(f"{p}: not an audiostress scores.csv (missing column {missing[0]!r})")
    for column, dtype in SCORE_DTYPES.items():
        if dtype == "Int64":
            frame[column] = pd.to_numeric(frame[column]).astype("Int64")
        elif dtype == "float64":
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
    for column in frame.columns:  # every text column, including ones added later (e.g. `note`)
        if SCORE_DTYPES.get(column, "string") == "string":
            frame[column] = frame[column].map(lambda v: unescape_cell(v) if isinstance(v, str) else v).astype("string")
    return frame


def load_results(path: str | os.PathLike[str]) -> SweepResult:
    """Read a finished (or merged) sweep directory; raises ``ResultsError`` naming what is missing."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise ResultsError(f"{root}: not a sweep directory (expected the --out folder of a sweep)")
    metrics_path = root / "metrics.json"
    if not metrics_path.is_file():
        raise ResultsError(f"{root}: no metrics.json; run or resume the sweep (`audiostress sweep --out {root} ...`)")
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{metrics_path}: unreadable metrics.json ({exc})") from exc
    if not isinstance(metrics, dict) or not isinstance(metrics.get("cells", []), list):
        raise ResultsError(f"{metrics_path}: not an audiostress metrics.json (expected an object with `cells`)")
    return SweepResult(root, metrics)
