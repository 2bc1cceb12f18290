"""Corrupt one audio file and write the result, so a person can listen to it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .audio import load, save
from .corruptions import create
from .corruptions.base import Node


def corrupt_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    name: str,
    *,
    severity: int | None = None,
    params: dict[str, Any] | None = None,
    table: str | None = None,
    seed: int = 0,
) -> tuple[Node, Path]:
    """Load ``src``, apply corruption ``name`` and save WAV/FLAC to ``dst``.

    Exactly one of ``severity`` or ``params`` selects the configuration (both may
    be combined: params override the severity's values). The random draws come
    from ``make_generator(seed)``, the rule of ``audiostress.corrupt`` and of a
    sweep pair: ``--seed`` set to a pair's seed writes what that sweep scored
    (``audiostress replay`` finds the seed for you).
    """
    if severity is None and not params:
        raise ValueError(f"Give a severity (0..5) or parameters for {name}")
    node = create(name, severity=severity, params=params, table=table)
    audio, sr = load(src)
    out = node(audio, sr, seed=seed)
    if not torch.isfinite(out).all():
        raise RuntimeError(f"{node.label()} produced NaN or Inf samples for {src}")
    return node, save(dst, out, sr, subtype="FLOAT" if Path(dst).suffix.lower() == ".wav" else None)
