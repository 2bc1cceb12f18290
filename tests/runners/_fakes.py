"""TEMPORARY stand-ins for modules other parts are still building (pool, data, metrics summary).

Installed into ``sys.modules`` by conftest only when the real module cannot be imported.
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def install() -> None:
    try:
        import audiostress.runners.pool  # noqa: F401
    except ImportError:
        mod = types.ModuleType("audiostress.runners.pool")

        class WorkerPool:
            def __init__(self, workers, max_in_flight=None):
                self.workers = workers

            def __enter__(self):
                return self

            def __exit__(self, *a):
                return None

            def imap(self, fn, items):
                for item in items:
                    yield fn(item)

        mod.WorkerPool = WorkerPool
        sys.modules["audiostress.runners.pool"] = mod
    try:
        import audiostress.data  # noqa: F401
        from audiostress.data import load_dataset  # noqa: F401
    except ImportError:
        mod = types.ModuleType("audiostress.data")

        @dataclass(frozen=True)
        class Clip:
            clip_id: str
            path: Path
            label: str
            attack: str | None = None
            meta: dict = field(default_factory=dict)

        @dataclass
        class Dataset:
            clips: list
            problems: list
            source: str
            format: str

            def describe(self):
                return {"source": self.source, "format": self.format, "n": len(self.clips)}

        def load_dataset(spec, *, audio_dir=None, strict=False, limit=None, seed=0):
            root = Path(spec)
            clips = []
            for label in ("bonafide", "spoof"):
                for p in sorted((root / label).glob("*")):
                    clips.append(Clip(f"{label}/{p.stem}", p, label))
            return Dataset(clips, [], str(root), "folder")

        mod.Clip, mod.Dataset, mod.load_dataset = Clip, Dataset, load_dataset
        sys.modules["audiostress.data"] = mod
    try:
        import audiostress.metrics.summary  # noqa: F401
    except ImportError:
        mod = types.ModuleType("audiostress.metrics.summary")

        def eer(scores, labels):
            scores, labels = np.asarray(scores), np.asarray(labels)
            best = 1.0
            for t in np.unique(np.concatenate([scores, [np.inf]])):
                far = np.mean(scores[labels == 0] >= t)
                frr = np.mean(scores[labels == 1] < t)
                best = min(best, max(far, frr))
            return float(best)

        def build_metrics(rows, cells, provenance, *, codec_pair_cells=None, reference=None, n_bootstrap=1000, seed=0):
            out = {"schema": 1, "provenance": dict(provenance), "cells": [], "errors": []}
            for c in cells:
                rs = [r for r in rows if r["cell_id"] == c["cell_id"] and not r["error"]]
                e = eer([r["raw_score"] for r in rs], [r["label"] == "spoof" for r in rs]) if rs else None
                if c["cell_id"] == "clean":
                    out["clean"] = {"eer": e, "n": len(rs)}
                out["cells"].append({"cell_id": c["cell_id"], "eer": e, "n": len(rs)})
            out["errors"] = [{"clip_id": r["clip_id"], "cell_id": r["cell_id"], "error": r["error"]} for r in rows if r["error"]]
            return out

        def write_metrics(path, metrics):
            Path(path).write_text(json.dumps(metrics, indent=2, sort_keys=True, default=str))

        mod.build_metrics, mod.write_metrics = build_metrics, write_metrics
        sys.modules["audiostress.metrics.summary"] = mod
