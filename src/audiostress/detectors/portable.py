"""Sending a detector to another process: its picklable ``DetectorSpec`` out, a ``Detector`` back.

A detector loaded with ``load_detector`` carries the spec it was built from
(``detector.spec``), which pickles small and rebuilds the same model elsewhere;
the Ray scoring actors and the shard processes of ``audiostress.sweep(...,
procs=N)`` both travel that way. A detector without a spec (an object the caller
built) travels as itself.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["portable", "rebuild"]


def portable(detector: Any, *, device: str | None = None) -> Any:
    """What another process rebuilds ``detector`` from: its spec (moved to ``device`` if given), else the detector."""
    spec = getattr(detector, "spec", None)
    if spec is None:
        return detector
    if device is not None and dataclasses.is_dataclass(spec) and not isinstance(spec, type):
        spec = dataclasses.replace(spec, device=device)
    return spec


def rebuild(source: Any) -> Any:
    """The detector ``portable`` sent: a spec is loaded, a detector is returned as it is."""
    return source.load() if hasattr(source, "load") and not hasattr(source, "score") else source
