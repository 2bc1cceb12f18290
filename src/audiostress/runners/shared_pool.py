"""Worker processes that start as early as possible and stay warm between sweeps.

A spawned worker costs about 2 CPU-seconds before its first task: a fresh
interpreter, torch, the corruption registry and the codec libraries. On a
2-core machine where a sweep is CPU-bound, two workers starting at the engine's
first task add about 2 s to its wall time. ``worker_lease`` removes most of it:

- **Early start.** The lease is taken when ``run_sweep`` starts, before the
  detector, dataset identity, preflight and store are dealt with, and it asks
  every worker to start at once (``warm``, which also imports the corruption
  worker and loads the registry). A grid without CPU-placed cells leases no
  worker processes at all. The start-up then overlaps the main
  process's own preparation instead of delaying the first codec result.
- **Kept between sweeps.** When a sweep ends normally its pool goes back to a
  process-wide table (one per worker count) and is reused by the next sweep in
  this process: a loop over detectors, the pytest plugin's sweeps, a notebook.
  A pool left idle for ``keep_s`` seconds is closed by a timer, and every kept
  pool is closed at interpreter exit. ``keep_s=0`` closes it when the sweep ends.
- **Never shared at once.** A pool is used by one sweep at a time; a second
  concurrent sweep (another thread) gets its own pool, closed when it ends. A
  sweep that ends with an exception (Ctrl-C, SIGTERM, a crash) closes its pool
  rather than handing on workers in an unknown state.

Results do not depend on which process ran a task (tasks are pure functions of
their payload), so reusing workers keeps every byte of a sweep. In-process
pools (``workers`` 0 or 1) have nothing to keep and are made fresh.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from .pool import WorkerPool

__all__ = ["DEFAULT_KEEP_S", "close_kept_pools", "kept_pools", "warm", "worker_lease"]

log = logging.getLogger("audiostress.sweep")

#: Seconds an idle pool is kept for the next sweep in this process.
DEFAULT_KEEP_S = 60.0


@dataclass
class _Kept:
    pool: WorkerPool
    busy: bool = False
    timer: threading.Timer | None = None


_lock = threading.Lock()
_kept: dict[int, _Kept] = {}


def warm(_: object = None) -> int:
    """Runs in a worker: import what every corruption task needs, the fork server's own preload list
    (``_worker_preload``: torch, PyAV, the corruption worker and every plugin); a no-op in a forked worker."""
    import os

    from . import _worker_preload  # noqa: F401

    return os.getpid()


def kept_pools() -> dict[int, bool]:
    """Worker count -> busy, for the pools this process keeps (for tests and diagnostics)."""
    with _lock:
        return {n: k.busy for n, k in _kept.items()}


def _start(pool: WorkerPool) -> None:
    """Start every worker of ``pool`` now, from a background thread (the first submission of a process waits for
    the fork server's imports, about 2 s, which must not hold up the sweep's own preparation)."""
    threading.Thread(target=pool.prestart(warm), name="audiostress-pool-start", daemon=True).start()


def _expire(workers: int, entry: _Kept) -> None:
    with _lock:
        if _kept.get(workers) is not entry or entry.busy:
            return
        del _kept[workers]
    log.debug("closing the %d idle worker processes kept for the next sweep", workers)
    entry.pool.close()


@contextlib.contextmanager
def worker_lease(workers: int, *, keep_s: float = DEFAULT_KEEP_S) -> Iterator[WorkerPool]:
    """A ``WorkerPool`` of ``workers`` processes, started now and kept ``keep_s`` seconds afterwards (see above)."""
    if isinstance(keep_s, bool) or not isinstance(keep_s, (int, float)) or keep_s < 0:
        raise ValueError(f"Expected `keep_workers` to be a number of seconds >= 0, got {keep_s!r}")
    probe = WorkerPool(workers)  # checks `workers`
    if probe.in_process:
        with probe:
            yield probe
        return
    with _lock:
        entry = _kept.get(workers)
        if entry is not None and not entry.busy:
            if entry.timer is not None:
                entry.timer.cancel()
            entry.busy, entry.timer = True, None
            shared = True
        else:
            entry, shared = _Kept(probe, busy=True), entry is None
            if shared:
                _kept[workers] = entry
            _start(probe)
    try:
        yield entry.pool
    except BaseException:
        _drop(workers, entry, shared, wait=False)  # workers still starting exit on their own
        raise
    if not shared or keep_s == 0:
        _drop(workers, entry, shared)
        return
    with _lock:
        entry.busy = False
        entry.timer = threading.Timer(float(keep_s), _expire, args=(workers, entry))
        entry.timer.daemon = True
        entry.timer.start()


def _drop(workers: int, entry: _Kept, shared: bool, *, wait: bool = True) -> None:
    if shared:
        with _lock:
            if _kept.get(workers) is entry:
                del _kept[workers]
    entry.pool.close(wait=wait)


def close_kept_pools() -> None:
    """Close every idle kept pool now (also run at interpreter exit)."""
    with _lock:
        idle = [(n, k) for n, k in _kept.items() if not k.busy]
        for n, k in idle:
            del _kept[n]
            if k.timer is not None:
                k.timer.cancel()
    for _, k in idle:
        k.pool.close()


atexit.register(close_kept_pools)
