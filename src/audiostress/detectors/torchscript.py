"""Load ``torchscript:PATH``: a TorchScript module saved with ``torch.jit.save``."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from .base import DetectorLoadError
from .loaded import Loaded, sha256_of


def load_torchscript(path: str, *, device: torch.device, name: str | None = None) -> Loaded:
    """``torch.jit.load`` the file onto ``device`` in eval mode."""
    p = Path(path)
    label = name or p.stem
    if not p.is_file():
        raise DetectorLoadError(label, f"TorchScript file {p} does not exist")
    try:
        with warnings.catch_warnings():  # torch 2.9+ flags jit.load as deprecated; it still works
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(p), map_location=device)
    except (RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DetectorLoadError(label, f"{p} is not a TorchScript module ({first})") from exc
    module.eval()
    return Loaded(
        forward=module,
        name=label,
        provenance={
            "spec": f"torchscript:{p}",
            "loader": "torchscript",
            "checkpoint": str(p),
            "checkpoint_sha256": sha256_of(p),
            "kwargs": {},
        },
    )
