"""Baseline files: one small JSON per test with what a later run is compared against.

A baseline holds the sweep identity (dataset clips, grid cells, seed), the metrics,
the environment (audiostress, torch and codec library versions, device, precision,
python), the git commit when one is available, the detector that produced it and the
per-clip scores (CSV, gzipped, base64) that make regression gates paired.

The identity deliberately leaves the detector out: comparing a new checkpoint with
the old one is the point. A different dataset, grid or seed is refused with a
message naming what differs (:func:`identity_mismatch`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .scores import ScoreTable, decode_scores, encode_scores, scores_of

__all__ = ["BASELINE_SCHEMA", "Baseline", "BaselineError", "baseline_path", "identity_mismatch", "identity_of"]

BASELINE_SCHEMA = 1
#: metrics.json blocks a baseline keeps (the rest is provenance or per-row detail).
_METRIC_BLOCKS = ("clean", "cells", "codec_pair", "corruption_error_reference", "corruption_errors", "coverage", "settings")


class BaselineError(ValueError):
    """A baseline file cannot be read or does not belong to the run it is compared with."""


def _clips_digest(result: Any) -> tuple[int, str]:
    frame = result.to_pandas()
    pairs = sorted({f"{c}\t{lab}" for c, lab in zip(frame["clip_id"].astype(str), frame["label"].astype(str))})
    return len(pairs), hashlib.sha256("\n".join(pairs).encode("utf-8")).hexdigest()


def identity_of(result: Any) -> dict[str, Any]:
    """What a baseline must share with a run to be compared: dataset clips, grid cells and seed."""
    prov = result.provenance
    dataset, grid = _block(prov, "dataset"), _block(prov, "grid")
    cells = grid.get("cells") or ["clean", *(c.cell_id for c in result.cells)]
    n_clips, digest = _clips_digest(result)
    return {
        "dataset": {"format": dataset.get("format"), "limit": dataset.get("limit"), "clips": n_clips, "clips_sha256": digest},
        "grid": {"name": grid.get("name"), "cells": list(cells)},
        "seed": prov.get("seed"),
    }


def identity_mismatch(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> str | None:
    """``None`` when the identities match, else a sentence naming what differs."""
    old_d, new_d = baseline.get("dataset") or {}, current.get("dataset") or {}
    if old_d.get("clips_sha256") != new_d.get("clips_sha256") or old_d.get("limit") != new_d.get("limit"):
        return (
            f"another dataset: {old_d.get('clips')} clips (limit {old_d.get('limit')}) in the baseline, "
            f"{new_d.get('clips')} clips (limit {new_d.get('limit')}) now, and the clip ids or labels differ"
        )
    old_cells, new_cells = list((baseline.get("grid") or {}).get("cells") or []), list((current.get("grid") or {}).get("cells") or [])
    if old_cells != new_cells:
        only_old = [c for c in old_cells if c not in new_cells]
        only_new = [c for c in new_cells if c not in old_cells]
        return f"another grid: cells only in the baseline {only_old or 'none'}, only in this sweep {only_new or 'none'}"
    if baseline.get("seed") != current.get("seed"):
        return f"another seed: {baseline.get('seed')} in the baseline, {current.get('seed')} now"
    return None


def _commit() -> str | None:
    """``git rev-parse HEAD`` in the working directory, or ``None`` without git or outside a repository."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    text = done.stdout.strip()
    return text if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", text) else None


def _block(prov: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = prov.get(key)
    return value if isinstance(value, Mapping) else {}


def _environment(prov: Mapping[str, Any]) -> dict[str, Any]:
    run, machine = _block(prov, "run"), _block(prov, "machine")
    return {
        "audiostress": prov.get("audiostress"), "torch": prov.get("torch"), "codecs": prov.get("codecs"),
        "device": run.get("device"), "precision": run.get("precision"),
        "python": machine.get("python"), "platform": machine.get("platform"),
    }  # fmt: skip


def _detector(prov: Mapping[str, Any]) -> dict[str, Any]:
    det = _block(prov, "detector")
    return {k: det.get(k) for k in ("name", "spec", "checkpoint_sha256")}


@dataclass(frozen=True)
class Baseline:
    """A baseline's JSON content (``data``) and the file it came from, if any."""

    data: Mapping[str, Any]
    path: Path | None = None
    _scores: dict[str, ScoreTable] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_result(cls, result: Any, *, node_id: str | None = None) -> Baseline:
        """A baseline of a finished sweep (``SweepResult``)."""
        prov = result.provenance
        data = {
            "schema": BASELINE_SCHEMA,
            "node_id": node_id,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "run_dir": str(result.out_dir),
            "identity": identity_of(result),
            "detector": _detector(prov),
            "environment": _environment(prov),
            "commit": _commit(),
            "metrics": {k: result.metrics.get(k) for k in _METRIC_BLOCKS},
            "provenance": {"detector": prov.get("detector")},
            "scores": encode_scores(scores_of(result)),
        }
        return cls(data)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Baseline:
        """Read a baseline file; raises :class:`BaselineError` naming the file and the fix."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise BaselineError(f"{p}: no baseline file (write one with `audiostress baseline RUN_DIR -o {p}`)") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BaselineError(f"{p}: unreadable baseline ({exc}); rewrite it with --audiostress-update") from exc
        if not isinstance(data, dict) or data.get("schema") != BASELINE_SCHEMA or "identity" not in data:
            raise BaselineError(f"{p}: not an audiostress baseline (schema {BASELINE_SCHEMA}); rewrite it with --audiostress-update")
        return cls(data, p)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the baseline as sorted, indented JSON, atomically (a temp file renamed over the target)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(dict(self.data), sort_keys=True, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        os.replace(tmp, target)
        return target

    @property
    def identity(self) -> Mapping[str, Any]:
        return self.data.get("identity") or {}

    @property
    def metrics(self) -> Mapping[str, Any]:
        """The metrics.json blocks of the baseline run (plus the detector provenance for its threshold)."""
        return {**(self.data.get("metrics") or {}), "provenance": self.data.get("provenance") or {}}

    @property
    def scores(self) -> ScoreTable:
        if "table" not in self._scores:
            self._scores["table"] = decode_scores(str(self.data.get("scores") or ""))
        return self._scores["table"]

    @property
    def label(self) -> str:
        where = str(self.path) if self.path else str(self.data.get("run_dir"))
        commit = self.data.get("commit")
        return f"{where} (created {self.data.get('created')}{', commit ' + str(commit)[:10] if commit else ''})"


def baseline_path(directory: str | os.PathLike[str], node_id: str) -> Path:
    """``<directory>/<node id>.json`` with the node id made a safe file name (``/`` → ``__``, ``::`` → ``--``)."""
    name = node_id.replace("::", "--").replace("/", "__").replace("\\", "__")
    name = re.sub(r"[^\w.\-\[\]=,+@{}]", "_", name)
    return Path(directory) / f"{name}.json"
