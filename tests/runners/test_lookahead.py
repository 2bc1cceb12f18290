"""While the CPU results of a group are not coming in (workers still starting), the engine scores the next groups'
clean and device cells instead of waiting: at most ``GROUPS_AHEAD`` groups, within the clean-sample budget, with
the same rows as strict alternation."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import torch
from sweep_fixtures import load_analytic_detector, write_dataset

from audiostress.data import load_dataset
from audiostress.runners.engine import GROUPS_AHEAD, Engine
from audiostress.runners.grid import load_grid
from audiostress.runners.plan import make_plan
from audiostress.runners.rows import ScoreRow

#: One codec cell (CPU) and one torch cell (device) besides clean.
GRID = "cells:\n  - {corruption: mp3, severity: 3}\n  - {corruption: low_pass, severity: 2}\n"


class SlowStartStream:
    """An in-process stream that reports nothing ready until ``ready_after`` results were asked for."""

    def __init__(self, fn: Any, ready_after: int) -> None:
        self.fn, self.ready_after, self.queue, self.taken = fn, ready_after, deque(), 0

    def __enter__(self) -> SlowStartStream:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def submit(self, item: Any) -> None:
        self.queue.append(item)

    def ready(self) -> bool:
        return self.taken >= self.ready_after

    def get(self) -> Any:
        self.taken += 1
        return self.fn(self.queue.popleft())


class SlowStartPool:
    max_in_flight = 4

    def __init__(self, ready_after: int) -> None:
        self.ready_after = ready_after

    def stream(self, fn: Any, **_: Any) -> SlowStartStream:
        return SlowStartStream(fn, self.ready_after)


def run(tmp_path: Path, clips_per_class: int, pool: Any, **engine_kw: Any) -> tuple[list[ScoreRow], list[list[ScoreRow]]]:
    (tmp_path / "grid.yaml").write_text(GRID)
    grid = load_grid(tmp_path / "grid.yaml")
    data = write_dataset(tmp_path / f"data{clips_per_class}", n_per_class=clips_per_class)
    plan = make_plan(load_dataset(str(data)).clips, [c.cell_id for c in grid.cells], 0, group_clips=2)
    calls: list[list[ScoreRow]] = []
    engine = Engine(plan, grid, load_analytic_detector(4), lambda rows: calls.append(list(rows)),
                    device=torch.device("cpu"), **engine_kw)  # fmt: skip
    engine.run(pool)
    return sorted((r for c in calls for r in c), key=lambda r: r.key), calls


def groups_before_the_first_codec_result(calls: list[list[ScoreRow]]) -> int:
    """How many groups had their device cell scored before the first codec rows were written (one call per group)."""
    first_mp3 = next(i for i, c in enumerate(calls) if c[0].cell_id == "mp3@3")
    return sum(1 for c in calls[:first_mp3] if c[0].cell_id == "low_pass@2")


def test_device_work_runs_ahead_while_cpu_results_are_not_ready(tmp_path: Path) -> None:
    strict, _ = run(tmp_path, 6, SlowStartPool(ready_after=0))  # always ready: strict alternation
    ahead, calls = run(tmp_path, 6, SlowStartPool(ready_after=10**9))  # never ready: only the bounds drain
    assert [(r.key, r.raw_score, r.p_fake) for r in ahead] == [(r.key, r.raw_score, r.p_fake) for r in strict]
    assert groups_before_the_first_codec_result(calls) == GROUPS_AHEAD


def test_long_clips_never_wait_beside_another_group(tmp_path: Path) -> None:
    # A cap of 4000 samples makes the clean-sample budget (4 x cap) smaller than two groups of these clips.
    _, calls = run(tmp_path, 6, SlowStartPool(ready_after=10**9), max_batch_samples=4000)
    assert groups_before_the_first_codec_result(calls) == 2  # strict alternation: two groups, then the first's codecs
