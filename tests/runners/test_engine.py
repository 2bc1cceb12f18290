"""The engine's CPU path, driven through its public pieces: results held at once stay bounded; a dead worker
is one error row, not a dead sweep; a CPU result of the wrong pair is refused."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sweep_fixtures import DETECTOR_INPUT, DETECTOR_OUTPUT, DETECTOR_SPEC, load_analytic_detector

from audiostress.data import load_dataset
from audiostress.detectors import load_detector
from audiostress.runners.corrupt_worker import CorruptResult, CpuTask, corrupt_item
from audiostress.runners.engine import CPU_RESULTS_PER_CELL, Engine, cpu_result_window
from audiostress.runners.grid import Grid, load_grid
from audiostress.runners.plan import GROUP_CLIPS, Plan, make_plan
from audiostress.runners.pool import WorkerPool
from audiostress.runners.rows import ScoreRow
from audiostress.runners.work import cell_units, collect_cpu, cpu_tasks, load_group

#: Three CPU codec cells: one group of the 12-clip dataset queues about 18 CPU items.
CPU_GRID = """
cells:
  - {corruption: mp3, severity: 1}
  - {corruption: mp3, severity: 3}
  - {corruption: mp3, severity: 5}
"""
#: The pair whose worker process dies.
CRASH_CLIP, CRASH_CELL = "spoof/spoof_03", "mp3@3"
#: A detector slower than the codec, so an unbounded pool would run far ahead of it.
SLOW_DETECTOR_MS = 40.0
#: Guards the produced/consumed counters (the pool's feeding thread and the engine both touch them).
lock = threading.Lock()


def exit_on_one_pair(task: CpuTask) -> CorruptResult:
    """``corrupt_item``, except that the worker process dies on one (clip, cell) (as on a segfault)."""
    if task.key == (CRASH_CLIP, CRASH_CELL) and os.environ.get("AUDIOSTRESS_TEST_CRASH") == "1":
        os._exit(1)
    return corrupt_item(task)


def setup(tmp_path: Path, data: Path, done: frozenset[tuple[str, str]] = frozenset()) -> tuple[Plan, Grid]:
    path = tmp_path / "grid.yaml"
    path.write_text(CPU_GRID)
    grid = load_grid(path)
    dataset = load_dataset(str(data))
    return make_plan(dataset.clips, [c.cell_id for c in grid.cells], 0, done=done), grid


def run_engine(plan: Plan, grid: Grid, pool: Any, detector: Any = None, **kw: Any) -> list[ScoreRow]:
    rows: list[ScoreRow] = []
    engine = Engine(plan, grid, detector or load_analytic_detector(4), rows.extend, device=torch.device("cpu"), **kw)
    engine.run(pool)
    return sorted(rows, key=lambda r: r.key)


class CountingPool:
    """A WorkerPool whose stream counts the results the engine has taken."""

    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool
        self.max_in_flight = pool.max_in_flight
        self.consumed = 0

    def stream(self, fn: Any, **kw: Any) -> Any:
        inner = self.pool.stream(fn, **kw)
        outer = self

        class Counting:
            def __enter__(self) -> Counting:
                return self

            def __exit__(self, *exc: object) -> None:
                inner.close()

            def submit(self, item: Any) -> None:
                inner.submit(item)

            def get(self) -> Any:
                result = inner.get()
                with lock:
                    outer.consumed += 1
                return result

        return Counting()


def test_cpu_results_held_at_once_stay_within_the_pool_window(tmp_path: Path, dataset_dir: Path) -> None:
    """Corrupted clips produced but not yet taken by the engine never exceed the result window plus the pool window."""
    produced = worst = 0
    plan, grid = setup(tmp_path, dataset_dir)

    with WorkerPool(0) as real:
        pool = CountingPool(real)

        def counting_work(task: CpuTask) -> CorruptResult:
            nonlocal produced, worst
            result = corrupt_item(task)
            with lock:
                produced += 1
                worst = max(worst, produced - pool.consumed)
            return result

        slow = load_detector(DETECTOR_SPEC, kwargs={"delay_ms": SLOW_DETECTOR_MS}, input=DETECTOR_INPUT,
                             output=DETECTOR_OUTPUT, batch_size=4)  # fmt: skip
        rows = run_engine(plan, grid, pool, slow, work=counting_work, result_window=1)
    assert [r.error for r in rows] == [None] * (12 * 4)
    assert produced == pool.consumed == 12 * 3
    # workers=0: a window of 1 in the pool, a result window of 1, and the one result the feeding thread holds.
    bound = 1 + 1 + 1
    assert worst <= bound, f"{worst} corrupted results were held at once (bound {bound})"


def test_a_dead_worker_gives_one_error_row_and_a_resume_retries_it(
    tmp_path: Path, dataset_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, grid = setup(tmp_path, dataset_dir)
    with WorkerPool(2) as pool:
        reference = run_engine(plan, grid, pool)
        assert [r.error for r in reference] == [None] * (12 * 4)

        monkeypatch.setenv("AUDIOSTRESS_TEST_CRASH", "1")  # spawned workers inherit the environment
        pool.close()  # the next stream starts fresh workers that see it
        crashed = run_engine(plan, grid, pool, work=exit_on_one_pair)
        errors = [r for r in crashed if r.error]
        assert [r.key for r in errors] == [(CRASH_CLIP, CRASH_CELL)]
        assert "worker process died while corrupting" in (errors[0].error or "")
        ok = [r for r in crashed if not r.error]
        assert len(ok) == 12 * 4 - 1
        same = {r.key: r for r in reference}
        assert all((r.raw_score, r.p_fake) == (same[r.key].raw_score, same[r.key].p_fake) for r in ok)

        monkeypatch.setenv("AUDIOSTRESS_TEST_CRASH", "0")
        pool.close()
        resumed_plan, _ = setup(tmp_path, dataset_dir, done=frozenset(r.key for r in ok))
        resumed = run_engine(resumed_plan, grid, pool, work=exit_on_one_pair)
    assert [r.key for r in resumed] == [(CRASH_CLIP, CRASH_CELL)] and resumed[0].error is None
    expected = same[(CRASH_CLIP, CRASH_CELL)]
    assert (resumed[0].raw_score, resumed[0].p_fake, resumed[0].measured_snr_db) == (
        expected.raw_score, expected.p_fake, expected.measured_snr_db,
    )  # fmt: skip


def test_a_cpu_result_of_another_pair_is_refused_naming_both(tmp_path: Path, dataset_dir: Path) -> None:
    plan, grid = setup(tmp_path, dataset_dir)
    group = next(plan.pending_groups())
    loaded = load_group(plan, group)
    cell = grid.cells[1]
    units = cell_units(plan, loaded, cell.cell_id)
    tasks = cpu_tasks(cell, units, loaded)
    results = [corrupt_item(t) for t in tasks]
    items, failures = collect_cpu(plan, units, results, loaded)
    assert [it.unit for it in items] == units and failures == []
    assert all(np.array_equal(it.audio.numpy(), r.audio) for it, r in zip(items, results))

    swapped = [results[1], results[0], *results[2:]]
    with pytest.raises(RuntimeError) as info:
        collect_cpu(plan, units, swapped, loaded)
    text = str(info.value)
    assert f"expected {units[0].clip_id} / {cell.cell_id}" in text and f"got {units[1].clip_id} / {cell.cell_id}" in text


def test_default_result_window_is_one_group_of_cpu_cells() -> None:
    """The default queue lets the codecs run one group ahead: GROUP_CLIPS results per CPU cell, whatever the dataset size."""
    grid = load_grid("quick")
    n_cpu = sum(1 for c in grid.cells if c.node.placement == "cpu")
    assert CPU_RESULTS_PER_CELL == GROUP_CLIPS
    assert n_cpu == 5 and cpu_result_window(grid.cells, pool_window=2) == GROUP_CLIPS * n_cpu
    assert cpu_result_window(grid.cells[:1], pool_window=3) == 3  # the clean cell alone: the pool's window
