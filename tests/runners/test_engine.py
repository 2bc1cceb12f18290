"""The engine's CPU path: results held at once stay bounded; a dead worker is one error row, not a dead sweep."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from sweep_fixtures import DETECTOR_INPUT, DETECTOR_OUTPUT, DETECTOR_SPEC, load_analytic_detector

from audiostress.detectors import load_detector
from audiostress.runners import engine as engine_mod
from audiostress.runners.corrupt_worker import corrupt_item
from audiostress.runners.plan import pair_seed
from audiostress.runners.sweep import SweepConfig, run_sweep

#: Three CPU codec cells: one group of the 12-clip dataset queues about 18 CPU items.
CPU_GRID = """
cells:
  - {corruption: mp3, severity: 1}
  - {corruption: mp3, severity: 3}
  - {corruption: mp3, severity: 5}
"""
#: The pair whose worker process dies.
CRASH_CLIP, CRASH_CELL = "spoof/spoof_03", "mp3@3"
CRASH_SEED = pair_seed(0, CRASH_CLIP, CRASH_CELL)
#: A detector slower than the codec, so an unbounded pool would run far ahead of it.
SLOW_DETECTOR_MS = 40.0


def exit_on_one_pair(payload: tuple) -> object:
    """``corrupt_item``, except that the worker process dies on one (clip, cell) (as on a segfault)."""
    if payload[3] == CRASH_SEED and os.environ.get("AUDIOSTRESS_TEST_CRASH") == "1":
        os._exit(1)
    return corrupt_item(payload)


def sweep(tmp_path: Path, data: Path, name: str, grid: str = CPU_GRID, **kw) -> object:
    path = tmp_path / "grid.yaml"
    path.write_text(grid)
    cfg = dict(detector=load_analytic_detector(4), data=str(data), grid=path, out=tmp_path / name,
               quiet=True, report=False, n_bootstrap=20, batch_size=4)
    cfg.update(kw)
    return run_sweep(SweepConfig(**cfg))


def test_cpu_results_held_at_once_stay_within_the_pool_window(
    tmp_path: Path, dataset_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Corrupted clips produced but not yet taken by the engine never exceed the result queue plus the pool window."""
    lock = threading.Lock()
    produced = consumed = worst = 0

    def counting_work(payload: tuple) -> object:
        nonlocal produced, worst
        result = corrupt_item(payload)
        with lock:
            produced += 1
            worst = max(worst, produced - consumed)
        return result

    real_get = engine_mod._CpuFeeder.get

    def counting_get(self: object) -> object:
        nonlocal consumed
        result = real_get(self)
        with lock:
            consumed += 1
        return result

    monkeypatch.setattr(engine_mod, "CPU_RESULTS_PER_CELL", 0)  # shrink the queue to its floor (the pool window)
    monkeypatch.setattr(engine_mod, "corrupt_item", counting_work)
    monkeypatch.setattr(engine_mod._CpuFeeder, "get", counting_get)
    slow = load_detector(DETECTOR_SPEC, kwargs={"delay_ms": SLOW_DETECTOR_MS}, input=DETECTOR_INPUT,
                         output=DETECTOR_OUTPUT, batch_size=4)  # fmt: skip
    res = sweep(tmp_path, dataset_dir, "bounded", workers=0, detector=slow)
    assert res.n_errors == 0 and produced == consumed == 12 * 3
    # workers=0: a window of 1 in the pool, a result queue of 1, and the one result the feeder holds.
    bound = 1 + 1 + 1
    assert worst <= bound, f"{worst} corrupted results were held at once (bound {bound})"


def test_a_dead_worker_gives_one_error_row_and_a_resume_retries_it(
    tmp_path: Path, dataset_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = sweep(tmp_path, dataset_dir, "reference", workers=2)
    assert reference.n_errors == 0

    monkeypatch.setenv("AUDIOSTRESS_TEST_CRASH", "1")  # spawned workers inherit the environment
    monkeypatch.setattr(engine_mod, "corrupt_item", exit_on_one_pair)
    crashed = sweep(tmp_path, dataset_dir, "crashed", workers=2)
    errors = crashed.metrics["errors"]
    assert [(e["clip_id"], e["cell_id"]) for e in errors] == [(CRASH_CLIP, CRASH_CELL)]
    assert "worker process died while corrupting" in errors[0]["error"]
    assert crashed.n_scored == 12 * 4 - 1

    monkeypatch.setenv("AUDIOSTRESS_TEST_CRASH", "0")
    resumed = sweep(tmp_path, dataset_dir, "crashed", workers=2)
    assert resumed.n_errors == 0 and resumed.n_scored == 1
    assert (resumed.out_dir / "scores.csv").read_bytes() == (reference.out_dir / "scores.csv").read_bytes()


def test_default_result_window_is_one_group_of_cpu_cells() -> None:
    """The default queue lets the codecs run one group ahead: GROUP_CLIPS results per CPU cell, whatever the dataset size."""
    from audiostress.runners.grid import load_grid
    from audiostress.runners.plan import GROUP_CLIPS

    class Pool:
        max_in_flight = 2

    grid = load_grid("quick")
    n_cpu = sum(1 for c in grid.cells if c.node.placement == "cpu")
    eng = engine_mod.Engine.__new__(engine_mod.Engine)
    eng.cells = {c.cell_id: c for c in grid.cells}
    assert n_cpu == 5 and eng.cpu_result_window(Pool()) == GROUP_CLIPS * n_cpu
