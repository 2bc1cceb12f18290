"""A bounded, ordered worker pool for CPU-bound per-item work (codecs).

``WorkerPool(workers, max_in_flight)`` is a context manager whose ``imap(fn,
items, key=None)`` yields ``fn(item)`` for every item **in input order**.

- Determinism: ``fn`` must be a pure, module-level function that takes its seed
  from the item, so results do not depend on the number of workers or on which
  worker ran an item.
- Errors: an exception raised by ``fn`` stops the stream with ``PoolItemError``
  carrying the item's ``index`` (position in ``items``), its ``item_key``
  (``key(item)`` when a ``key`` function is given) and the original exception
  as ``cause`` (also chained as ``__cause__``), plus the worker's traceback text.
- Memory: at most ``max_in_flight`` items (default ``2 * workers``) have been
  taken from ``items`` and not yet yielded. ``items`` is consumed lazily by a
  feeder thread, so it may be an endless or blocking iterator (e.g. a queue the
  caller fills while it consumes results) and is never materialised.
- Processes: ``workers >= 2`` uses a ``ProcessPoolExecutor`` with the ``spawn``
  start method (forking a parent that already runs torch/OpenMP threads can
  deadlock), and each worker limits torch and BLAS to ``torch_threads`` (1)
  threads so ``workers`` processes do not oversubscribe the cores. PyAV, the
  ffmpeg subprocess backend and pedalboard all work inside spawned workers.
  ``workers`` 0 or 1 runs everything in the calling process (no pickling).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Environment variables that cap native thread pools inside a worker.
_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
#: How often the feeder thread re-checks for cancellation while the window is full (s).
_POLL_S = 0.05


class PoolItemError(RuntimeError):
    """``fn`` failed on one item: ``index``, ``item_key``, ``cause`` and the worker traceback."""

    def __init__(self, index: int, item_key: object, cause: BaseException, worker_traceback: str = "") -> None:
        self.index = index
        self.item_key = item_key
        self.cause = cause
        self.worker_traceback = worker_traceback
        where = f"item {index}" + (f" ({item_key!r})" if item_key is not None else "")
        super().__init__(f"{where} failed: {type(cause).__name__}: {cause}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (PoolItemError, (self.index, self.item_key, self.cause, self.worker_traceback))


def _init_worker(torch_threads: int) -> None:
    """Runs once in each worker process: cap native threads before any heavy import."""
    for name in _THREAD_ENV:
        os.environ[name] = str(torch_threads)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a runtime dependency
        return
    torch.set_num_threads(torch_threads)


def _call(fn: Callable[[Any], Any], item: Any) -> tuple[bool, Any, str]:
    """Run ``fn(item)`` in a worker; failures come back as a picklable exception + traceback."""
    try:
        return True, fn(item), ""
    except Exception as exc:
        text = traceback.format_exc()
        try:
            pickle.dumps(exc)
        except Exception:
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        return False, exc, text


class WorkerPool:
    """Ordered, bounded ``imap`` over worker processes (see the module docstring).

    >>> with WorkerPool(0) as pool:
    ...     list(pool.imap(abs, [-2, 3, -1]))
    [2, 3, 1]
    """

    def __init__(
        self,
        workers: int = 0,
        max_in_flight: int | None = None,
        *,
        start_method: str = "spawn",
        torch_threads: int = 1,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise ValueError(f"Expected `workers` >= 0 for WorkerPool, got {workers!r}")
        if max_in_flight is not None and (not isinstance(max_in_flight, int) or max_in_flight < 1):
            raise ValueError(f"Expected `max_in_flight` >= 1 or None for WorkerPool, got {max_in_flight!r}")
        if start_method not in multiprocessing.get_all_start_methods():
            choices = ", ".join(multiprocessing.get_all_start_methods())
            raise ValueError(f"Expected `start_method` in {choices} for WorkerPool, got {start_method!r}")
        self.workers = workers
        self.max_in_flight = max_in_flight or max(1, 2 * workers)
        self.start_method = start_method
        self.torch_threads = torch_threads
        self._executor: ProcessPoolExecutor | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes (pending work is cancelled)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    @property
    def in_process(self) -> bool:
        return self.workers <= 1

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context(self.start_method),
                initializer=_init_worker,
                initargs=(self.torch_threads,),
            )
        return self._executor

    # -- work --------------------------------------------------------------------------
    def imap(
        self, fn: Callable[[T], R], items: Iterable[T], key: Callable[[T], object] | None = None
    ) -> Iterator[R]:
        """Yield ``fn(item)`` for each item in input order; see the module docstring."""
        if self.in_process:
            return self._imap_local(fn, items, key)
        return self._imap_processes(fn, items, key)

    def _imap_local(self, fn: Callable[[T], R], items: Iterable[T], key: Callable[[T], object] | None) -> Iterator[R]:
        for index, item in enumerate(items):
            try:
                result = fn(item)
            except Exception as exc:
                raise PoolItemError(index, key(item) if key else None, exc, traceback.format_exc()) from exc
            yield result

    def _imap_processes(
        self, fn: Callable[[T], R], items: Iterable[T], key: Callable[[T], object] | None
    ) -> Iterator[R]:
        executor = self._pool()
        submitted: queue.Queue[Any] = queue.Queue()
        slots = threading.Semaphore(self.max_in_flight)
        stop = threading.Event()
        done = object()

        def feed() -> None:
            try:
                for index, item in enumerate(items):
                    while not slots.acquire(timeout=_POLL_S):
                        if stop.is_set():
                            return
                    if stop.is_set():
                        return
                    item_key = key(item) if key else None
                    submitted.put((index, item_key, executor.submit(_call, fn, item)))
                    del item
            except BaseException as exc:  # the input iterator itself failed
                submitted.put(exc)
            finally:
                submitted.put(done)

        feeder = threading.Thread(target=feed, name="audiostress-pool-feeder", daemon=True)
        feeder.start()
        try:
            while True:
                entry = submitted.get()
                if entry is done:
                    return
                if isinstance(entry, BaseException):
                    raise entry
                index, item_key, future = entry
                ok, value, text = _result(future, index, item_key)
                slots.release()
                if not ok:
                    raise PoolItemError(index, item_key, value, text) from value
                yield value
        finally:
            stop.set()
            _cancel_queued(submitted)


def _result(future: Future, index: int, item_key: object) -> tuple[bool, Any, str]:
    try:
        return future.result()
    except Exception as exc:  # the worker process died (BrokenProcessPool) or fn was unpicklable
        raise PoolItemError(index, item_key, exc, traceback.format_exc()) from exc


def _cancel_queued(submitted: queue.Queue[Any]) -> None:
    while True:
        try:
            entry = submitted.get_nowait()
        except queue.Empty:
            return
        if isinstance(entry, tuple):
            entry[2].cancel()
