"""Sweeps memoised on disk by identity, safe for parallel test workers.

``memo_sweep(store, detector, data, grid, **kwargs)`` resolves the arguments the way
``audiostress.sweep`` does, computes the sweep identity (detector content, dataset
clips, grid, seed) and runs the sweep in ``<store>/sweeps/<first 20 hex of its
fingerprint>``. An exclusive ``fcntl`` lock on ``<store>/locks/<fingerprint>.lock`` is
held while the sweep runs, so of several pytest-xdist workers asking for one sweep,
one computes it and the others wait and then reopen the finished results
(``audiostress.sweep`` returns a complete sweep of the same identity at once).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["memo_dir", "memo_sweep", "store_lock"]

log = logging.getLogger("audiostress.testing")

#: ``audiostress.sweep`` options that describe the detector (consumed when it is loaded).
_DETECTOR_OPTIONS = ("name", "kwargs", "input", "output")
#: ``audiostress.sweep``'s named settings after ``detector, data, grid``.
_NAMED = ("checkpoint", "seed", "limit", "workers", "batch_size", "device")


@contextlib.contextmanager
def store_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (created if needed), released on exit."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        start = time.monotonic()
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another worker computing the sweep behind %s", path)
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            log.info("lock %s acquired after %.1f s", path, time.monotonic() - start)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid={os.getpid()}\n")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _resolve(detector: Any, data: Any, grid: Any, kwargs: dict[str, Any]) -> tuple[str, Any, Any, Any]:
    """(fingerprint, detector, dataset, grid) resolved as ``audiostress.sweep`` resolves them."""
    from ..runners.grid import load_grid
    from ..runners.store import fingerprint_of
    from ..runners.sweep import SweepConfig, resolve_dataset, resolve_detector, sweep_identity

    options = {k: v for k, v in kwargs.items() if k not in _NAMED and k not in _DETECTOR_OPTIONS}
    named = {k: kwargs[k] for k in _NAMED if k in kwargs}
    checkpoint = named.pop("checkpoint", None)
    config = SweepConfig(
        detector=detector, data=data, grid=grid, out=Path("."), checkpoint=str(checkpoint) if checkpoint is not None else None,
        detector_overrides={k: kwargs[k] for k in _DETECTOR_OPTIONS if k in kwargs}, **named, **options,
    )  # fmt: skip
    config.grid = load_grid(config.grid)
    config.detector = resolve_detector(config)
    config.data = resolve_dataset(config)
    identity = sweep_identity(config.detector, config.data, config.grid, config.seed)
    return fingerprint_of(identity), config.detector, config.data, config.grid


def memo_dir(store: Path, fingerprint: str) -> Path:
    return Path(store) / "sweeps" / fingerprint[:20]


def memo_sweep(store: str | os.PathLike[str], detector: Any, data: Any, grid: Any = "quick", **kwargs: Any) -> Any:
    """``audiostress.sweep(detector, data, grid, **kwargs)`` memoised under ``store`` (see the module docstring)."""
    from ..api import OPTIONS, sweep

    if "out" in kwargs:
        raise TypeError("robustness.sweep() chooses the sweep directory itself (memoised by identity); drop `out=`")
    unknown = sorted(set(kwargs) - set(OPTIONS) - set(_NAMED))
    if unknown:
        raise TypeError(f"robustness.sweep() got an unknown option {unknown[0]!r}; allowed: {', '.join(sorted({*OPTIONS, *_NAMED}))}")
    fingerprint, det, dataset, resolved_grid = _resolve(detector, data, grid, dict(kwargs))
    out = memo_dir(Path(store), fingerprint)
    rest = {k: v for k, v in kwargs.items() if k not in _DETECTOR_OPTIONS}
    with store_lock(Path(store) / "locks" / f"{fingerprint[:20]}.lock"):
        return sweep(det, dataset, resolved_grid, out=out, **rest)
