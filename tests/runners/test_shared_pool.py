"""Worker processes kept warm between sweeps (``shared_pool.py``) and forked from the preloaded fork server
(``worker_start.py``): reuse, idle expiry, concurrent sweeps, failures, the environment, the same bytes."""

from __future__ import annotations

import os
import threading
import time

import pytest

from audiostress.runners import shared_pool
from audiostress.runners.pool import WorkerPool
from audiostress.runners.shared_pool import kept_pools, worker_lease
from audiostress.runners.worker_start import DEFAULT_START_METHOD


def pid_and_parent(_: object) -> tuple[int, int]:
    return os.getpid(), os.getppid()


def env_value(name: str) -> str | None:
    return os.environ.get(name)


def pids(pool: WorkerPool, n: int = 8) -> set[int]:
    return {pid for pid, _ in pool.imap(pid_and_parent, range(n))}


@pytest.fixture(autouse=True)
def no_kept_pools():
    shared_pool.close_kept_pools()
    yield
    shared_pool.close_kept_pools()


def test_the_next_lease_reuses_the_warm_workers() -> None:
    with worker_lease(2, keep_s=30) as first:
        pids(first)
        processes = set(first._executor._processes)  # type: ignore[union-attr]
    assert kept_pools() == {2: False} and len(processes) == 2
    with worker_lease(2, keep_s=30) as second:
        assert second is first
        assert pids(second) <= processes  # the same processes answer: nothing was started again
        assert set(second._executor._processes) == processes  # type: ignore[union-attr]
    assert kept_pools() == {2: False}


def test_keep_zero_closes_and_an_idle_pool_expires() -> None:
    with worker_lease(2, keep_s=0) as pool:
        pids(pool)
    assert kept_pools() == {} and pool._executor is None
    with worker_lease(2, keep_s=0.3) as pool:
        pids(pool)
    assert kept_pools() == {2: False}
    deadline = time.monotonic() + 10
    while (kept_pools() or pool._executor is not None) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kept_pools() == {} and pool._executor is None


def test_a_concurrent_sweep_gets_its_own_pool_and_closes_it() -> None:
    inside = threading.Event()
    release = threading.Event()
    seen: dict[str, WorkerPool] = {}

    def first() -> None:
        with worker_lease(2, keep_s=30) as pool:
            seen["first"] = pool
            inside.set()
            release.wait(30)

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(30)
    with worker_lease(2, keep_s=30) as other:
        assert other is not seen["first"] and pids(other)
    assert other._executor is None  # closed at once: it was never the kept one
    release.set()
    thread.join(30)
    assert kept_pools() == {2: False}


def test_a_failed_sweep_does_not_hand_its_workers_on() -> None:
    with pytest.raises(RuntimeError, match="boom"), worker_lease(2, keep_s=30) as pool:
        pids(pool)
        raise RuntimeError("boom")
    assert kept_pools() == {}
    with worker_lease(2, keep_s=30) as fresh:
        assert fresh is not pool


def test_in_process_pools_are_never_kept_and_bad_keep_values_are_refused() -> None:
    with worker_lease(1) as pool:
        assert pool.in_process
    assert kept_pools() == {}
    with pytest.raises(ValueError, match="keep_workers"), worker_lease(2, keep_s=-1):
        pass


@pytest.mark.skipif(DEFAULT_START_METHOD != "forkserver", reason="no fork server on this platform")
def test_workers_come_from_the_fork_server_with_the_current_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with WorkerPool(2) as pool:
        parents = {parent for _, parent in pool.imap(pid_and_parent, range(4))}
    assert parents and os.getpid() not in parents  # forked by the server, not by this process
    monkeypatch.setenv("AUDIOSTRESS_TEST_LATE_VARIABLE", "set after the fork server started")
    with WorkerPool(2) as pool:
        assert set(pool.imap(env_value, ["AUDIOSTRESS_TEST_LATE_VARIABLE"] * 4)) == {"set after the fork server started"}


def test_two_sweeps_in_a_process_share_the_workers_and_write_the_same_bytes(tmp_path, dataset_dir) -> None:
    from sweep_fixtures import DETECTOR_INPUT, DETECTOR_OUTPUT, DETECTOR_SPEC

    from audiostress.runners.sweep import SweepConfig, run_sweep

    grid = tmp_path / "grid.yaml"
    grid.write_text("cells:\n  - {corruption: mp3, severity: 3}\n  - {corruption: low_pass, severity: 2}\n")

    def sweep(out: str, workers: int) -> bytes:
        overrides = {"input": DETECTOR_INPUT, "output": DETECTOR_OUTPUT}
        run_sweep(SweepConfig(detector=DETECTOR_SPEC, data=str(dataset_dir), grid=str(grid), out=tmp_path / out,
                              workers=workers, detector_overrides=overrides, report=False, n_bootstrap=10, batch_size=3))
        return (tmp_path / out / "scores.csv").read_bytes()

    in_process = sweep("in-process", 0)
    first = sweep("first", 2)
    kept = shared_pool._kept[2].pool
    processes = set(kept._executor._processes)  # type: ignore[union-attr]
    second = sweep("second", 2)
    assert shared_pool._kept[2].pool is kept and set(kept._executor._processes) == processes  # type: ignore[union-attr]
    assert first == second == in_process


def test_a_grid_without_cpu_cells_starts_no_worker(tmp_path, dataset_dir) -> None:
    from sweep_fixtures import DETECTOR_INPUT, DETECTOR_OUTPUT, DETECTOR_SPEC

    from audiostress.runners.sweep import SweepConfig, run_sweep

    grid = tmp_path / "grid.yaml"
    grid.write_text("cells:\n  - {corruption: low_pass, severity: 2}\n")
    overrides = {"input": DETECTOR_INPUT, "output": DETECTOR_OUTPUT}
    run = run_sweep(SweepConfig(detector=DETECTOR_SPEC, data=str(dataset_dir), grid=str(grid), out=tmp_path / "out",
                                workers=2, detector_overrides=overrides, report=False, n_bootstrap=10))
    assert run.n_scored == 24 and kept_pools() == {}
