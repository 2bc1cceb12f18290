"""``PoolStream``: feed a worker pool from a growing input queue while the caller does other work.

``WorkerPool.stream(fn, on_crash=..., max_results=N)`` starts one background
thread that runs ``pool.imap(fn, ...)`` over whatever the caller ``submit``s and
puts each result into a queue of at most ``N`` results; ``get`` takes the next
one in submission order. The caller can therefore queue a whole group of work,
do something else (score on the device), then collect.

- Memory: at most ``pool.max_in_flight`` items in the pool, ``N`` results in the
  queue and one result held by the thread waiting for room. With ``size`` and
  ``max_result_size`` the waiting results are also bounded by their total size
  (e.g. samples): a result that would push the total over the budget waits until
  the caller has taken the ones before it (one result always fits, however big).
- No deadlock: results are FIFO, so a caller that only ``get``s results of items
  it already submitted is never left waiting on a queue that is full.
- Errors: an exception of the pool's stream (``PoolItemError``, a broken input)
  is raised by the next ``get`` as ``RuntimeError`` chained to it.
- ``close`` (or leaving the ``with`` block) stops the thread, also when results
  are still queued.

>>> from audiostress.runners.pool import WorkerPool
>>> with WorkerPool(0) as pool, pool.stream(abs, max_results=2) as s:
...     s.submit(-3)
...     s.submit(4)
...     [s.get(), s.get()]
[3, 4]
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: How often a blocked queue operation re-checks for cancellation (s).
_POLL_S = 0.05
_STOP = object()


class _Pool(Protocol):
    max_in_flight: int

    def imap(self, fn: Any, items: Any, key: Any = ..., *, on_crash: Any = ...) -> Iterator[Any]: ...


class PoolStream(Generic[T, R]):
    """A background feeder of ``pool.imap`` (see the module docstring); make one with ``WorkerPool.stream``."""

    def __init__(
        self,
        pool: _Pool,
        fn: Callable[[T], R],
        *,
        on_crash: Callable[[T, BaseException], R] | None = None,
        max_results: int | None = None,
        size: Callable[[R], int] | None = None,
        max_result_size: int | None = None,
    ) -> None:
        if max_results is not None and (isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1):
            raise ValueError(f"Expected `max_results` >= 1 or None for WorkerPool.stream, got {max_results!r}")
        if max_result_size is not None and (isinstance(max_result_size, bool) or not isinstance(max_result_size, int)
                                            or max_result_size < 1 or size is None):  # fmt: skip
            raise ValueError(
                f"Expected `max_result_size` >= 1 with a `size` function, or None, for WorkerPool.stream; got "
                f"{max_result_size!r} (size {'given' if size is not None else 'missing'})"
            )
        self.pool = pool
        self.fn = fn
        self.on_crash = on_crash
        self.max_results = max_results if max_results is not None else max(1, int(pool.max_in_flight))
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._outbox: queue.Queue[Any] = queue.Queue(maxsize=self.max_results)
        self.size = size
        self.max_result_size = max_result_size
        #: Total size of the results queued and not yet taken (guarded by ``_room``).
        self.waiting_size = 0
        self._room = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audiostress-pool-stream", daemon=True)
        self._thread.start()

    def __enter__(self) -> PoolStream[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, item: T) -> None:
        """Queue one item; it is handed to the pool as soon as the pool's window has room."""
        self._inbox.put(item)

    def ready(self) -> bool:
        """Whether the next result (or the pool's error) is already waiting, so ``get`` would not block."""
        return not self._outbox.empty()

    def get(self) -> R:
        """The next result, in submission order (blocks until it is ready)."""
        result, weight = self._outbox.get()
        if weight:
            with self._room:
                self.waiting_size -= weight
                self._room.notify_all()
        if isinstance(result, BaseException):
            raise RuntimeError(f"CPU worker pool failed: {result}") from result
        return result  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop the background thread (results still queued are dropped)."""
        self._inbox.put(_STOP)
        self._stopping.set()
        self._thread.join()

    # -- the background thread -------------------------------------------------------
    def _items(self) -> Iterator[T]:
        while not self._stopping.is_set():
            try:
                item = self._inbox.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if item is _STOP:
                return
            yield item

    def _reserve(self, result: Any) -> int | None:
        """Wait until ``result`` fits the size budget and count it as waiting; ``None`` when stopping."""
        if self.max_result_size is None or self.size is None or isinstance(result, BaseException):
            return 0
        weight = max(0, int(self.size(result)))
        with self._room:
            while self.waiting_size > 0 and self.waiting_size + weight > self.max_result_size:
                if self._stopping.is_set():
                    return None
                self._room.wait(_POLL_S)
            self.waiting_size += weight
        return weight

    def _put(self, result: Any) -> bool:
        weight = self._reserve(result)
        if weight is None:
            return False
        while not self._stopping.is_set():
            try:
                self._outbox.put((result, weight), timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        results = self.pool.imap(self.fn, self._items(), on_crash=self.on_crash)
        try:
            for result in results:
                if not self._put(result):
                    break
        except BaseException as exc:  # surfaced to the caller by ``get``
            self._put(exc)
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
