"""A sweep's identity (what must match to resume or merge) and its provenance block (metrics.json).

The identity counts the detector, the dataset and the grid by content, never by
path, plus the seed, the corruption rate and the batch size, so a copy of the
same model and clips elsewhere resumes and merges while any change that moves a
score is refused. The provenance records everything else a reader needs to
trust the numbers: versions (audiostress, torch, every codec backend), the
machine, the effective detector input and the run settings.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
from typing import Any

import torch

from .._version import __version__
from .grid import Grid
from .plan import Shard
from .preflight import ClipHeader, detector_input

__all__ = ["build_provenance", "dataset_identity", "detector_identity", "sweep_identity"]

#: Detector description keys that do not change scores and so stay out of the fingerprint.
_NON_SEMANTIC_DETECTOR_KEYS = ("device", "batch_size")


def detector_identity(detector: Any) -> dict[str, Any]:
    """What decides the detector's scores, independent of where files sit (``DetectorSpec.identity``).

    The model counts by a content hash (factory source, model file, HF configs
    and weights, module weights) and the checkpoint by its sha256, never by a
    path; device, batch size and display name are left out. A copy of the same
    model on another path or machine therefore resumes and merges. A detector
    built by hand without a spec falls back to its description minus device,
    batch size and paths.
    """
    spec = getattr(detector, "spec", None)
    if spec is not None and hasattr(spec, "identity"):
        return dict(spec.identity(detector))
    info = dict(detector.describe())
    for key in (*_NON_SEMANTIC_DETECTOR_KEYS, "card", "checkpoint", "spec", "name"):
        info.pop(key, None)
    info["kind"] = "unspecified"
    return info


def dataset_identity(dataset: Any) -> dict[str, Any]:
    """Which clips this run takes, by content (``audiostress.data.identity.dataset_identity``).

    A hash over the sorted (clip id, label, attack, sha256 of the file) plus
    ``limit`` pins the clip set, so re-generated audio of the same length is a
    different dataset while a copy at another path still resumes and merges.
    """
    from ..data.identity import dataset_identity as by_content

    return by_content(dataset)


def sweep_identity(detector: Any, dataset: Any, grid: Grid, seed: int, *, corrupt_rate: int | None = None) -> dict[str, Any]:
    """What must match to resume or merge: detector, dataset, grid, seed and the corrupt rate (Hz or ``native``)."""
    return {
        "detector": detector_identity(detector), "dataset": dataset_identity(dataset), "grid": grid.to_dict(),
        "seed": int(seed), "corrupt_rate": _rate_label(corrupt_rate), "batch_size": int(getattr(detector, "batch_size", 16)),
    }  # fmt: skip


def _rate_label(corrupt_rate: int | None) -> int | str:
    return int(corrupt_rate) if corrupt_rate is not None else "native"


def build_provenance(
    detector: Any, dataset: Any, grid: Grid, config: Any, shard: Shard | None, *,
    corrupt_rate: int | None = None, headers: list[ClipHeader | None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The provenance block of metrics.json (DESIGN.md) plus run settings.

    ``corrupt_rate`` is the resolved rate (Hz, or ``"native"``); ``detector_input``
    the effective InputSpec with the windows per clip counted from ``headers``.
    """
    try:
        from ..codecs.provenance import codec_versions

        codecs: dict[str, Any] = codec_versions()
    except ImportError as exc:
        codecs = {"unavailable": str(exc)}
    return {
        "audiostress": __version__,
        "seed": int(config.seed),
        "detector": detector.describe(),
        "dataset": dataset.describe() if hasattr(dataset, "describe") else {},
        "grid": {"name": grid.name, "cells": [c.cell_id for c in grid.cells], "codec_pair": grid.codec_pair, "notes": grid.notes},
        "torch": torch.__version__,
        "codecs": codecs,
        "machine": {
            "platform": platform.platform(), "python": platform.python_version(), "processor": platform.machine(),
            "cpu_count": os.cpu_count(), "cuda": torch.cuda.is_available(),
        },  # fmt: skip
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "corrupt_rate": _rate_label(corrupt_rate),
        "detector_input": detector_input(detector, headers or []),
        # The batch size the detector really uses (a detector object brings its own).
        "run": {"batch_size": int(getattr(detector, "batch_size", config.batch_size)), "workers": config.workers,
                "device": config.device, "torch_threads": torch.get_num_threads() if config.engine == "local" else None,
                "precision": config.precision, "shard": str(shard) if shard else None},
    }  # fmt: skip
