"""How worker processes start and how they end with the sweep that started them.

**Start.** A spawned worker is a fresh interpreter that imports torch, the codec
libraries and the corruption registry before its first task: about 2 CPU-seconds
each, which on a small CPU-bound machine is a visible share of a sweep. Where the
platform has one (Linux, macOS), the workers are forked from multiprocessing's
fork server instead, which imports all of that once (``_worker_preload.py``,
added to the server's preload list) and is itself single-threaded and idle, so
forking it is safe, unlike forking a sweep process that already runs torch or
OpenMP threads. The fork server is started by the first pool of the process and
lives until the process ends (one idle process). A preload list another part of
the program set is kept (ours is added to it); if the server is already running
without our modules, workers import them themselves, with the same results.
Elsewhere (Windows) workers are spawned.

**Environment.** A forked worker starts with the environment the fork server
had when it started; ``init_worker`` replaces it with the pool owner's current
environment, so workers see what a spawned worker would (variables read at call
time, such as ``AUDIOSTRESS_FFMPEG``). Only what a preloaded module read at its
import is the server's.

**End.** ``init_worker`` runs first in every worker: it makes the worker end when
the sweep's process does (after ``kill -9`` as well), then caps native thread
pools. A spawned worker is the sweep's child; a forked one is the fork server's
child, and the fork server exits when the process that started it does. Either
way the worker asks the kernel (Linux) for a signal when its parent dies
(``prctl(PR_SET_PDEATHSIG)``; the handler exits only if the parent really
changed, since the kernel counts the spawning *thread*), and a daemon watchdog
thread checks every ``WATCHDOG_S`` that the parent is the same and, for a forked
worker, that the sweep's process still exists.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from typing import Any

__all__ = [
    "DEFAULT_START_METHOD",
    "PRELOAD",
    "THREAD_ENV",
    "WATCHDOG_S",
    "init_worker",
    "mp_context",
    "prestart_for",
    "prestart_workers",
]

#: ``forkserver`` where the platform has it, else ``spawn``.
DEFAULT_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
#: Modules the fork server imports before it forks any worker.
PRELOAD = ("audiostress.runners._worker_preload",)
#: Environment variables that cap native thread pools inside a worker.
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
#: How often a worker's watchdog checks that its parent (and the sweep) are still alive (s).
WATCHDOG_S = 0.5
#: ``prctl`` option asking for a signal when the parent dies (linux/prctl.h).
_PR_SET_PDEATHSIG = 1


def mp_context(start_method: str) -> Any:
    """The multiprocessing context of ``start_method``; for ``forkserver`` with ``PRELOAD`` on its preload list."""
    context = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        from multiprocessing import forkserver

        current = list(getattr(getattr(forkserver, "_forkserver", None), "_preload_modules", None) or [])
        context.set_forkserver_preload(current + [m for m in PRELOAD if m not in current])
    return context


def prestart_workers() -> None:
    """Start the fork server that sweep workers are forked from, now and in the background.

    The server's start is a fresh interpreter importing torch, PyAV and the
    corruption registry: about 1.5 CPU-seconds, once per process, which the first
    sweep with ``workers >= 2`` otherwise pays at its start. Called first thing
    in a program (``audiostress sweep --workers N`` does), it overlaps the
    program's own imports and loading instead. It returns at once, changes no
    result, and does nothing when the server is already running or where the
    platform has no fork server (workers are spawned there). A server that
    cannot start now (an ``OSError``: too long a socket path under ``TMPDIR``,
    no file descriptors left) is logged at DEBUG and left to the pool, which
    reports it when the sweep needs its workers. A preload list of your own
    (``multiprocessing.set_forkserver_preload``) must be set before this call:
    the running server keeps the list it started with.
    """
    if DEFAULT_START_METHOD != "forkserver":
        return
    from multiprocessing import forkserver

    mp_context("forkserver")
    try:
        forkserver.ensure_running()
    except OSError as exc:
        logging.getLogger("audiostress.sweep").debug("the fork server did not start early (%s); the pool will retry", exc)


def prestart_for(workers: object, *, engine: str, one_process: bool) -> None:
    """``prestart_workers()`` when a sweep with these settings forks codec workers in this process: ``workers`` an
    integer >= 2 on the local engine, in one process (not the launcher of ``--procs``/``--gpus`` shards). A malformed
    ``workers`` is left to the sweep's own check. The CLI and ``audiostress.sweep`` call it before importing torch."""
    pooled = isinstance(workers, int) and not isinstance(workers, bool) and workers >= 2
    if pooled and engine == "local" and one_process:
        prestart_workers()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else (a reused pid): treat as alive
        return True
    return True


def _die_with_parent(parent: int, owner: int | None = None) -> None:
    """End this process when ``parent`` (its parent process) ends, or when ``owner`` (the sweep) no longer exists."""
    def orphaned(signum: int, frame: object) -> None:
        if os.getppid() != parent:  # not just the spawning thread of a live parent ending
            os._exit(1)

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            signal.signal(signal.SIGUSR1, orphaned)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGUSR1), 0, 0, 0)
        except (OSError, AttributeError, ValueError):  # no usable libc, or not the main thread: the watchdog covers it
            pass
    if os.getppid() != parent or (owner is not None and not _alive(owner)):  # died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent and (owner is None or _alive(owner)):
            time.sleep(WATCHDOG_S)
        os._exit(1)

    threading.Thread(target=watch, name="audiostress-parent-watchdog", daemon=True).start()


def init_worker(torch_threads: int, parent: int | None = None, forked: bool = False, env: dict[str, str] | None = None) -> None:
    """Runs once in each worker: die with ``parent`` (the sweep's pid), take ``env``, cap native threads.

    ``forked``: the worker came from the fork server, whose pid is its parent's.
    ``env``: the pool owner's environment when the pool started. A forked worker
    would otherwise see the fork server's, frozen when the server started, so a
    variable set since (``AUDIOSTRESS_FFMPEG``, a plugin's own) would not reach it.
    """
    if parent is not None:
        if forked:
            _die_with_parent(os.getppid(), owner=parent)
        else:
            _die_with_parent(parent)
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    for name in THREAD_ENV:
        os.environ[name] = str(torch_threads)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a runtime dependency
        return
    torch.set_num_threads(torch_threads)
