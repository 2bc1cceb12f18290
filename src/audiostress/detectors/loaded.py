"""What every loader returns, and the checksums recorded in a detector's provenance."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor

_CHUNK = 1 << 20


@dataclass
class Loaded:
    """A loaded model: ``forward([B, T] float32 on device) -> output`` plus defaults and provenance.

    ``input``/``output`` hold spec keys the model itself implies (e.g. the HF feature
    extractor's sample rate, the fake class from ``id2label``); user settings override them.
    """

    forward: Callable[[Tensor], Any]
    name: str
    provenance: dict[str, Any]
    input: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] = field(default_factory=dict)


def sha256_of(path: str | os.PathLike[str] | None) -> str | None:
    """SHA-256 of a file, or of a directory tree (relative names + file hashes, sorted); None for None."""
    if path is None:
        return None
    p = Path(path)
    if p.is_file():
        return _file_hash(p)
    if p.is_dir():
        h = hashlib.sha256()
        for f in sorted(q for q in p.rglob("*") if q.is_file()):
            h.update(f.relative_to(p).as_posix().encode("utf-8") + b"\0")
            h.update(_file_hash(f).encode("ascii"))
        return h.hexdigest()
    return None


def _file_hash(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()
