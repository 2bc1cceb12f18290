"""WorkerPool: input order, determinism across worker counts, error propagation, bounded memory."""

from __future__ import annotations

import os
import queue
import threading
import time

import numpy as np
import pytest
import torch

from audiostress.runners.pool import PoolItemError, WorkerCrashed, WorkerPool

#: One spawned pool is shared by the module: starting workers (importing torch) costs seconds.
WORKERS = 2
WINDOW = 3
#: Generous bound for a deadlock check on a loaded 2-core machine (not a speed test).
DEADLOCK_TIMEOUT_S = 120.0


@pytest.fixture(scope="module")
def procs():
    with WorkerPool(WORKERS, max_in_flight=WINDOW) as pool:
        yield pool


# -- work functions (module level so spawned workers can import them) ------------------
def slow_square(x: int) -> int:
    time.sleep(0.02 * ((7 * x) % 4))  # later items often finish first
    return x * x


def seeded_noise(seed: int) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(64, generator=g).numpy()


def fail_on_five(x: int) -> int:
    if x == 5:
        raise ValueError(f"bad item {x}")
    return x


def exit_on_three(x: int) -> int:
    if x == 3:
        os._exit(1)  # the worker process dies, as on a segfault or the OOM killer
    time.sleep(0.01)
    return 10 * x


def worker_threads(_: int) -> int:
    return torch.get_num_threads()


def mp3_item(seed: int) -> np.ndarray:
    from audiostress.corruptions import create
    from audiostress.seeding import make_generator
    from audiostress.synth import speech_like

    x = speech_like(0.5, 16000, seed=seed)
    return create("mp3", severity=3).apply(x, 16000, generator=make_generator(seed)).numpy()


# -- tests -------------------------------------------------------------------------------
def test_in_process_keeps_order():
    with WorkerPool(0) as pool:
        assert list(pool.imap(slow_square, range(6))) == [x * x for x in range(6)]


def test_processes_keep_input_order(procs):
    assert list(procs.imap(slow_square, range(12))) == [x * x for x in range(12)]


def test_results_identical_for_any_worker_count(procs):
    seeds = [3, 1, 4, 1, 5, 9, 2, 6]
    with WorkerPool(1) as one:
        local = list(one.imap(seeded_noise, seeds))
    spread = list(procs.imap(seeded_noise, seeds))
    assert all(np.array_equal(a, b) for a, b in zip(local, spread))


def test_codecs_run_in_spawned_workers_and_match_in_process(procs):
    with WorkerPool(0) as local:
        expected = list(local.imap(mp3_item, [1, 2, 3]))
    got = list(procs.imap(mp3_item, [1, 2, 3]))
    assert all(np.array_equal(a, b) for a, b in zip(expected, got))


def test_workers_run_torch_single_threaded(procs):
    assert set(procs.imap(worker_threads, range(4))) == {1}


@pytest.mark.parametrize("workers", [0, WORKERS])
def test_worker_exception_names_the_item(workers, procs):
    pool = procs if workers else WorkerPool(0)
    items = [f"clip-{i}" for i in range(8)]
    with pytest.raises(PoolItemError) as info:
        list(pool.imap(fail_on_five, range(8), key=lambda i: items[i]))
    err = info.value
    assert (err.index, err.item_key) == (5, "clip-5")
    assert isinstance(err.cause, ValueError) and isinstance(err.__cause__, ValueError)
    assert str(err) == "item 5 ('clip-5') failed: ValueError: bad item 5"
    assert "fail_on_five" in err.worker_traceback


def test_pool_still_works_after_an_item_error(procs):
    with pytest.raises(PoolItemError):
        list(procs.imap(fail_on_five, range(8)))
    assert list(procs.imap(slow_square, range(4))) == [0, 1, 4, 9]


@pytest.mark.parametrize(("workers", "bound"), [(0, 1), (WORKERS, WINDOW)])
def test_inputs_are_pulled_lazily_within_the_window(workers, bound, procs):
    pool = procs if workers else WorkerPool(0)
    pulled = 0
    worst = 0

    def items():
        nonlocal pulled
        for i in range(30):
            pulled += 1
            yield i

    for consumed, _ in enumerate(pool.imap(slow_square, items()), start=1):
        worst = max(worst, pulled - consumed)
    assert pulled == 30
    # Items taken from the iterator but not yet handed back never exceed the window.
    assert worst <= bound


def test_blocking_input_iterator_does_not_deadlock(procs):
    """The sweep feeds items through a queue it fills while consuming results: the pool must
    hand back each result without first waiting for more input than exists."""
    inbox: queue.Queue = queue.Queue()
    outbox: queue.Queue = queue.Queue()
    stop = object()

    def items():
        while (item := inbox.get()) is not stop:
            yield item

    def consume():
        for result in procs.imap(slow_square, items()):
            outbox.put(result)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    got = []
    try:
        for i in range(5):  # one item in, wait for its result, then the next
            inbox.put(i)
            got.append(outbox.get(timeout=DEADLOCK_TIMEOUT_S))
    finally:
        inbox.put(stop)
        thread.join(DEADLOCK_TIMEOUT_S)
    assert got == [0, 1, 4, 9, 16]
    assert not thread.is_alive()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"Expected `workers` >= 0 for WorkerPool, got -1"):
        WorkerPool(-1)
    with pytest.raises(ValueError, match=r"Expected `max_in_flight` >= 1 or None for WorkerPool, got 0"):
        WorkerPool(2, max_in_flight=0)


def test_a_dead_worker_becomes_that_items_result_and_the_stream_goes_on(procs):
    got = list(procs.imap(exit_on_three, range(8), on_crash=lambda item, exc: ("crashed", item, str(exc))))
    assert got[:3] == [0, 10, 20] and got[4:] == [40, 50, 60, 70]
    tag, item, text = got[3]
    assert (tag, item) == ("crashed", 3) and "worker process died" in text
    # The executor was rebuilt: the pool keeps working afterwards.
    assert list(procs.imap(slow_square, range(4))) == [0, 1, 4, 9]


def test_a_dead_worker_without_on_crash_names_its_item(procs):
    with pytest.raises(PoolItemError) as info:
        list(procs.imap(exit_on_three, range(6)))
    assert info.value.index == 3 and isinstance(info.value.cause, WorkerCrashed)


# -- stream: the background feeder ------------------------------------------------------
def test_stream_gives_results_in_submission_order_and_bounds_waiting_results() -> None:
    """With a slow caller, the results produced but not taken never exceed pool window + result queue + one held."""
    lock = threading.Lock()
    produced = consumed = worst = 0

    def counted(x: int) -> int:
        nonlocal produced, worst
        with lock:
            produced += 1
            worst = max(worst, produced - consumed)
        return 3 * x

    with WorkerPool(0) as pool, pool.stream(counted, max_results=2) as stream:
        for x in range(20):
            stream.submit(x)
        got = []
        for _ in range(20):
            time.sleep(0.005)
            got.append(stream.get())
            with lock:
                consumed += 1
    assert got == [3 * x for x in range(20)]
    assert produced == 20 and worst <= 1 + 2 + 1, worst


def test_stream_surfaces_a_pool_error_on_get_and_closes_with_results_queued() -> None:
    with WorkerPool(0) as pool:
        with pool.stream(fail_on_five, max_results=1) as stream:
            for x in (4, 5, 6):
                stream.submit(x)
            assert stream.get() == 4
            with pytest.raises(RuntimeError, match="CPU worker pool failed: item 1 failed: ValueError: bad item 5"):
                stream.get()
        # Closing while results wait (the queue is full) returns promptly.
        stream = pool.stream(abs, max_results=1)
        for x in range(5):
            stream.submit(-x)
        start = time.perf_counter()
        stream.close()
        assert time.perf_counter() - start < DEADLOCK_TIMEOUT_S


def test_stream_rejects_a_bad_result_window() -> None:
    with WorkerPool(0) as pool, pytest.raises(ValueError, match="max_results.*got 0"):
        pool.stream(abs, max_results=0)


def test_stream_over_processes_turns_a_dead_worker_into_its_result(procs) -> None:
    with procs.stream(exit_on_three, on_crash=lambda x, exc: -x) as stream:
        for x in range(6):
            stream.submit(x)
        assert [stream.get() for _ in range(6)] == [0, 10, 20, -3, 40, 50]


def test_stream_bounds_waiting_results_by_their_total_size() -> None:
    """Results of size n (a list of n items): at most 10 waiting in all, one big result alone, order kept."""
    sizes = [3, 3, 3, 20, 3, 3, 3, 3]

    def make(n: int) -> list[int]:
        return [n] * n

    with WorkerPool(0) as pool, pool.stream(make, max_results=50, size=len, max_result_size=10) as stream:
        for n in sizes:
            stream.submit(n)
        got, waits = [], []
        for _ in sizes:
            deadline = time.monotonic() + 0.3
            while time.monotonic() < deadline:  # let the feeder run as far ahead as the budget allows
                time.sleep(0.01)
            waits.append(stream.waiting_size)
            got.append(stream.get())
    assert [len(g) for g in got] == sizes
    assert waits[0] == 9 and waits[3] == 20  # three results of 3 (the 20 does not fit beside them), then the 20 alone
    assert all(w <= 10 for k, w in enumerate(waits) if k != 3), waits
    with WorkerPool(0) as pool, pytest.raises(ValueError, match="max_result_size.*size missing"):
        pool.stream(make, max_result_size=10)


def worker_pid(_: int) -> int:
    time.sleep(0.05)
    return os.getpid()


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads process states from /proc")
def test_workers_outlive_the_thread_that_spawned_them(procs) -> None:
    """The kernel's parent-death signal fires when the *spawning thread* ends (here the pool's feeder thread):
    the workers must only exit when the parent process is gone, so a second stream reuses the same workers."""
    first = set(procs.imap(worker_pid, range(8)))  # this imap's feeder thread spawned the workers, then ended
    time.sleep(1.5)  # longer than the watchdog's poll: a worker that took the signal for its parent's death is gone
    alive = [pid for pid in first if os.path.exists(f"/proc/{pid}") and _state(pid) != "Z"]
    assert sorted(alive) == sorted(first), (first, alive)
    second = list(procs.imap(worker_pid, range(8), on_crash=lambda item, exc: -1))
    assert -1 not in second  # no worker died under the second stream either


def _state(pid: int) -> str:
    stat = open(f"/proc/{pid}/stat").read()
    return stat[stat.rindex(")") + 2]
