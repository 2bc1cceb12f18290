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
- Crashes: when a worker process dies (segfault, ``os._exit``, the OOM killer),
  every item in flight fails with ``BrokenProcessPool``. The pool then holds
  back new submissions, starts a fresh executor and reruns each of those items
  alone, so the item that dies again is the culprit: it comes back as
  ``on_crash(item, WorkerCrashed)`` (or raises ``PoolItemError`` without
  ``on_crash``), the others give their normal results and the stream goes on.
  In-process pools (``workers`` 0 or 1) cannot survive a crash of their own process.
- Memory: at most ``max_in_flight`` items (default ``2 * workers``) have been
  taken from ``items`` and not yet yielded. ``items`` is consumed lazily by a
  feeder thread, so it may be an endless or blocking iterator (e.g. a queue the
  caller fills while it consumes results) and is never materialised.
- Processes: ``workers >= 2`` uses a ``ProcessPoolExecutor`` whose workers
  start from a fork server that has already imported torch, the codec
  libraries and the corruption registry (``worker_start.py``; ``spawn`` where
  there is no fork server); forking the sweep process itself could deadlock
  once it runs torch/OpenMP threads. Each worker limits torch and BLAS to
  ``torch_threads`` (1) threads so ``workers`` processes do not oversubscribe
  the cores. PyAV, the ffmpeg subprocess backend and pedalboard all work in
  the workers. ``workers`` 0 or 1 runs everything in the calling process (no
  pickling).
- Orphans: a worker dies with the process that started the pool, whether it was
  forked by the fork server or spawned (``worker_start.init_worker``: the
  kernel's parent-death signal plus a watchdog thread), so after ``kill -9`` or
  ``SIGTERM`` of the sweep no worker lives on.
- Streaming: ``stream(fn, on_crash=..., max_results=N)`` returns a ``PoolStream``
  (``stream.py``) that feeds ``imap`` from a background thread: ``submit`` items
  as they come, ``get`` results in order, at most ``N`` results waiting.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import pickle
import queue
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from .stream import PoolStream
from .worker_start import DEFAULT_START_METHOD, init_worker, mp_context

T = TypeVar("T")
R = TypeVar("R")

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
        start_method: str = DEFAULT_START_METHOD,
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

    def close(self, wait: bool = True) -> None:
        """Stop the worker processes (pending work is cancelled); ``wait=False`` returns before they have exited."""
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None

    @property
    def in_process(self) -> bool:
        return self.workers <= 1

    def prestart(self, fn: Callable[[Any], Any]) -> Callable[[], None]:
        """Make the executor now and return a call that submits ``fn(None)`` once per worker (results dropped).

        Submitting is what starts worker processes, and the first submission of a
        process can wait for the fork server's imports, so the caller runs the
        returned call where waiting does not matter (a background thread). After
        ``close`` it does nothing.
        """
        if self.in_process:
            return lambda: None
        self._pool()

        def submit() -> None:
            for _ in range(self.workers):
                try:
                    self._submit(fn, None)
                except RuntimeError:  # closed meanwhile: nothing left to start
                    return

        return submit

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=mp_context(self.start_method),
                initializer=init_worker,
                initargs=(self.torch_threads, os.getpid(), self.start_method == "forkserver", dict(os.environ)),
            )
        return self._executor

    # -- work --------------------------------------------------------------------------
    def imap(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        key: Callable[[T], object] | None = None,
        *,
        on_crash: Callable[[T, BaseException], R] | None = None,
    ) -> Iterator[R]:
        """Yield ``fn(item)`` for each item in input order; see the module docstring.

        ``on_crash(item, error)`` gives the result of an item whose worker process
        died (``WorkerCrashed``); without it such an item raises ``PoolItemError``.
        """
        if self.in_process:
            return self._imap_local(fn, items, key)
        return self._imap_processes(fn, items, key, on_crash)

    def stream(
        self,
        fn: Callable[[T], R],
        *,
        on_crash: Callable[[T, BaseException], R] | None = None,
        max_results: int | None = None,
        size: Callable[[R], int] | None = None,
        max_result_size: int | None = None,
    ) -> PoolStream[T, R]:
        """A background feeder of ``imap(fn, ...)``: ``submit`` items, ``get`` results in order, then ``close``.

        At most ``max_results`` results (default ``max_in_flight``) wait for the
        caller, and with ``size`` at most ``max_result_size`` of their total size
        (one result always fits); see ``stream.py`` for the memory and deadlock
        guarantees.
        """
        return PoolStream(self, fn, on_crash=on_crash, max_results=max_results, size=size, max_result_size=max_result_size)

    def _imap_local(self, fn: Callable[[T], R], items: Iterable[T], key: Callable[[T], object] | None) -> Iterator[R]:
        for index, item in enumerate(items):
            try:
                result = fn(item)
            except Exception as exc:
                raise PoolItemError(index, key(item) if key else None, exc, traceback.format_exc()) from exc
            yield result

    def _submit(self, fn: Callable[[Any], Any], item: Any) -> Future:
        """Submit to the current executor; a broken one gives an already failed future."""
        try:
            return self._pool().submit(_call, fn, item)
        except BrokenProcessPool as exc:
            failed: Future = Future()
            failed.set_exception(exc)
            return failed

    def _rebuild(self) -> None:
        """Drop a broken executor; the next submit starts fresh workers."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def _run_alone(self, fn: Callable[[Any], Any], index: int, item: Any) -> Future:
        """Run one item with nothing else in the (fresh) executor: a crash now is this item's."""
        future = self._submit(fn, item)
        try:
            resolved = _done(future.result())
        except BrokenProcessPool as exc:
            self._rebuild()
            resolved = Future()
            resolved.set_exception(WorkerCrashed(index, exc))
        return resolved

    def _recover(self, fn: Callable[[Any], Any], first: tuple[Any, ...], submitted: queue.Queue[Any]) -> list[Any]:
        """After a worker died: find which in-flight item killed it, and rerun the others.

        The caller holds the submit gate, so nothing new reaches the executor.
        Every entry still queued was submitted to the broken executor; each one
        whose future failed is rerun alone in a fresh executor, in input order.
        Returns the queued entries with their futures resolved (sentinels kept).
        """
        entries = [first]
        while True:
            try:
                entries.append(submitted.get_nowait())
            except queue.Empty:
                break
        self._rebuild()
        out: list[Any] = []
        for entry in entries:
            if not isinstance(entry, tuple):
                out.append(entry)
                continue
            index, item_key, item, future = entry
            if isinstance(future.exception(), BrokenProcessPool):
                future = self._run_alone(fn, index, item)
            out.append((index, item_key, item, future))
        return out

    def _imap_processes(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        key: Callable[[T], object] | None,
        on_crash: Callable[[T, BaseException], R] | None,
    ) -> Iterator[R]:
        submitted: queue.Queue[Any] = queue.Queue()
        slots = threading.Semaphore(self.max_in_flight)
        stop = threading.Event()
        gate = threading.Lock()  # held to submit, and by the consumer while it recovers from a crash
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
                    with gate:
                        submitted.put((index, item_key, item, self._submit(fn, item)))
                    del item
            except BaseException as exc:  # the input iterator itself failed
                submitted.put(exc)
            finally:
                submitted.put(done)

        feeder = threading.Thread(target=feed, name="audiostress-pool-feeder", daemon=True)
        feeder.start()
        backlog: collections.deque[Any] = collections.deque()  # entries already resolved by a recovery
        try:
            while True:
                entry = backlog.popleft() if backlog else submitted.get()
                if entry is done:
                    return
                if isinstance(entry, BaseException):
                    raise entry
                index, item_key, item, future = entry
                try:
                    ok, value, text = _result(future, index, item_key)
                except _Broken:
                    with gate:
                        backlog.extend(self._recover(fn, entry, submitted))
                    continue
                except WorkerCrashed as exc:
                    slots.release()
                    if on_crash is None:
                        raise PoolItemError(index, item_key, exc) from exc
                    yield on_crash(item, exc)
                    continue
                slots.release()
                del entry, item
                if not ok:
                    raise PoolItemError(index, item_key, value, text) from value
                yield value
        finally:
            stop.set()
            _cancel_queued(submitted)


class WorkerCrashed(RuntimeError):
    """The worker process running item ``index`` died (a segfault, ``os._exit``, the OOM killer)."""

    def __init__(self, index: int, cause: BaseException | str = "") -> None:
        self.index = index
        self.cause = str(cause) or "no detail"
        super().__init__(f"the worker process died while running item {index} ({self.cause})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (WorkerCrashed, (self.index, self.cause))


class _Broken(Exception):
    """Internal: a future failed because its executor broke (culprit not known yet)."""


def _done(value: Any) -> Future:
    resolved: Future = Future()
    resolved.set_result(value)
    return resolved


def _result(future: Future, index: int, item_key: object) -> tuple[bool, Any, str]:
    try:
        return future.result()
    except WorkerCrashed:
        raise
    except BrokenProcessPool as exc:
        raise _Broken() from exc
    except Exception as exc:  # fn or its item could not be pickled, ...
        raise PoolItemError(index, item_key, exc, traceback.format_exc()) from exc


def _cancel_queued(submitted: queue.Queue[Any]) -> None:
    while True:
        try:
            entry = submitted.get_nowait()
        except queue.Empty:
            return
        if isinstance(entry, tuple):
            entry[-1].cancel()
