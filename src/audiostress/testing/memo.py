"""Sweeps memoised on disk by identity, safe for parallel test workers.

``memo_sweep(store, detector, data, grid, **kwargs)`` runs ``audiostress.sweep`` in
``<store>/sweeps/<key>``, where the key hashes the call (every argument; the files
behind path arguments, such as the dataset folder, a checkpoint or ``model.py`` of a
``model.py:build`` spec, stamped by size and mtime). ``audiostress.sweep`` itself
then checks the sweep identity (detector content, dataset clips, grid, seed, corrupt
rate) against the store in that folder: a complete sweep of the same identity is
returned at once, without a new ``runs`` row; a folder whose identity no longer
matches (a file rewritten in place) is moved aside and the sweep rerun. So results
are only ever reused by identity, and the key needs no copy of the resolution logic.
A corrupted-audio cache (``cache=``, ``cache_size=``) is passed through to the sweep
and left out of the key: it changes how fast a sweep runs, never its results.

An exclusive ``fcntl`` lock on ``<store>/locks/<key>.lock`` is held while the sweep
runs, so of several pytest-xdist workers asking for one sweep, one computes it and
the others wait, then reopen the finished results.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["call_key", "memo_dir", "memo_sweep", "store_lock"]

log = logging.getLogger("audiostress.testing")

#: ``audiostress.sweep``'s named settings after ``detector, data, grid``.
_NAMED = ("checkpoint", "seed", "limit", "workers", "batch_size", "device")
#: Options that never change a sweep's results, so they stay out of the memo key (a cache folder, its bound).
_NOT_IN_KEY = ("cache", "cache_size")


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


def _stamp(value: Any) -> Any:
    """A JSON-able description of one argument: paths become (absolute path, size and mtime of every file)."""
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        head, sep, tail = text.rpartition(":")
        target = Path(head) if sep and Path(head).is_file() else Path(text)  # "model.py:build" stamps model.py
        if target.exists():
            files = [target] if target.is_file() else sorted(p for p in target.rglob("*") if p.is_file())
            return [text, str(target.resolve()), [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files]]
        return text
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _stamp(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_stamp(v) for v in value]
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}:{value.__qualname__}"
    return repr(value)


def call_key(detector: Any, data: Any, grid: Any, kwargs: dict[str, Any]) -> str:
    """sha256 of the call: every argument, with the files behind path arguments stamped by size and mtime."""
    text = json.dumps(_stamp({"detector": detector, "data": data, "grid": grid, "kwargs": kwargs}), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
    from ..runners.store import StoreError

    key = call_key(detector, data, grid, {k: v for k, v in kwargs.items() if k not in _NOT_IN_KEY})
    out = memo_dir(Path(store), key)
    with store_lock(Path(store) / "locks" / f"{key[:20]}.lock"):
        try:
            return sweep(detector, data, grid, out=out, **kwargs)
        except StoreError as exc:
            if not (out / "results.sqlite").is_file() or "different configuration" not in str(exc):
                raise
            # Same call, different identity (a file changed in place with the same size and mtime): start over.
            aside = out.with_name(f"{out.name}.replaced-{time.time_ns()}")
            os.replace(out, aside)
            log.warning("memoised sweep %s no longer matches its identity (%s); moved to %s and rerunning", out, exc, aside)
            return sweep(detector, data, grid, out=out, **kwargs)
