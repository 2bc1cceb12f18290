"""The local scheduler of a sweep: pipelines the pure steps of ``work.py`` over the plan's groups.

Clips are processed in the plan's groups (``plan.py``, about 8 clips each). The
unit of work is a (group, cell): when any pair of it is pending, the cell is
computed for every loaded clip of the group and the detector scores all of them
in **one** ``Detector.score`` call (per sample rate), in plan order, never mixed
with another cell or group; only the pending pairs' rows are written. Batched
float kernels (FFTs, convolutions, matmuls) round differently for different
batch compositions, so fixing the composition to the (group, cell) makes scores
bit-identical whatever the resume point, worker count or shard, and whatever
the detector's batch size as long as one group's windows fit in a batch (the
detector splits a call into forwards of at most ``batch_size`` windows).

For each group:

1. ``load_group`` loads the clips; a clip that fails to load gets an error row
   for every pending cell;
2. the group's CPU-placed cells (codecs, and cascades with a codec stage: the
   whole node runs per item on CPU) are submitted to the worker pool's stream
   (``WorkerPool.stream``) cell by cell, as keyed ``CpuTask``s;
3. meanwhile the clean cell and the device-placed cells are corrupted on the
   detector's device (``corrupt_on_device``) and scored (``score_cell``);
4. then the previous group's CPU results are collected cell by cell
   (``collect_cpu`` checks each result's (clip, cell) key) and each cell is
   scored in one detector call, so the pool is already coding this group while
   the detector works.

Memory holds two groups of clean audio, one (group, cell) of corrupted audio on
the main thread, at most ``max_in_flight`` CPU results in the pool, and at most
one group's worth of CPU results (``CPU_RESULTS_PER_CELL`` per CPU cell) in the
stream, so the codecs can run a group ahead of the detector. Every (group, cell)
is written in one ``write`` call (one transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from .corrupt_worker import CorruptResult, CpuTask, corrupt_item, crashed_item
from .grid import Cell, Grid
from .plan import GROUP_CLIPS, Plan, Unit
from .rows import ScoreRow
from .work import (
    Corrupted,
    Failure,
    LoadedGroup,
    cell_units,
    clean_items,
    collect_cpu,
    corrupt_batch,
    corrupt_on_device,
    cpu_tasks,
    load_group,
    score_cell,
    to_rows,
)

__all__ = ["CPU_RESULTS_PER_CELL", "Engine", "SweepAbort", "corrupt_batch", "cpu_result_window"]

#: Corrupted CPU results allowed to wait per CPU-placed cell: one group's worth, so the
#: codecs can code a whole group ahead while the detector scores the previous one. The
#: bound depends on the grid and the group size, never on the dataset size.
CPU_RESULTS_PER_CELL = GROUP_CLIPS


class SweepAbort(RuntimeError):
    """Raised in strict mode on the first error (the message names the clip and cell)."""


def cpu_result_window(cells: Iterable[Cell], pool_window: int, per_cell: int = CPU_RESULTS_PER_CELL) -> int:
    """How many corrupted CPU results may wait for the detector: ``per_cell`` per CPU-placed cell, at least the pool's window."""
    n_cpu_cells = sum(1 for c in cells if c.node.placement == "cpu")
    return max(int(pool_window), per_cell * n_cpu_cells)


@dataclass
class _Group:
    """A loaded group and its CPU-placed cells sent to the pool, in submission order."""

    loaded: LoadedGroup
    cpu_cells: list[tuple[str, list[Unit]]] = field(default_factory=list)


class Engine:
    """Runs a plan: see the module docstring. ``write`` receives the score rows of one (group, cell) at a time.

    ``work`` is the pool's per-item function (module level, so spawned workers
    can import it; default ``corrupt_item``); ``result_window`` caps the CPU
    results waiting for the detector (default ``cpu_result_window``).
    """

    def __init__(
        self,
        plan: Plan,
        grid: Grid,
        detector: Any,
        write: Callable[[list[ScoreRow]], None],
        *,
        device: torch.device,
        strict: bool = False,
        work: Callable[[CpuTask], CorruptResult] | None = None,
        result_window: int | None = None,
    ) -> None:
        self.plan = plan
        self.cells = {c.cell_id: c for c in grid.cells}
        self.node_dicts = {c.cell_id: c.node.to_dict() for c in grid.cells}  # CPU payloads
        self.detector = detector
        self.write = write
        self.device = device
        self.strict = strict
        self.work = work if work is not None else corrupt_item
        self.result_window = result_window

    def run(self, pool: Any) -> None:
        """Score every pending pair of the plan, CPU cells on ``pool`` (a ``WorkerPool``)."""
        window = self.result_window
        if window is None:
            window = cpu_result_window(self.cells.values(), int(getattr(pool, "max_in_flight", 1)))
        previous: _Group | None = None
        with pool.stream(self.work, on_crash=crashed_item, max_results=max(1, window)) as stream:
            for indices in self.plan.pending_groups():
                group = self._load(indices)
                for cell_id, units in group.cpu_cells:
                    for task in cpu_tasks(self.cells[cell_id], units, group.loaded, self.node_dicts[cell_id]):
                        stream.submit(task)
                self._score_clean_and_device(group.loaded)
                if previous is not None:
                    self._drain_cpu(previous, stream)
                previous = group
            if previous is not None:
                self._drain_cpu(previous, stream)

    def _load(self, indices: Sequence[int]) -> _Group:
        loaded = load_group(self.plan, indices)
        self._emit([], loaded.failures)
        group = _Group(loaded)
        for cell_id in self.plan.cell_ids:
            if self.cells[cell_id].node.placement == "cpu":
                units = cell_units(self.plan, loaded, cell_id)
                if units:
                    group.cpu_cells.append((cell_id, units))
        return group

    def _score_clean_and_device(self, loaded: LoadedGroup) -> None:
        for cell_id in self.plan.cell_ids:
            cell = self.cells[cell_id]
            if cell.node.placement == "cpu":
                continue
            units = cell_units(self.plan, loaded, cell_id)
            if not units:
                continue
            failures: list[Failure] = []
            if cell.corruption == "clean":
                items = clean_items(units, loaded)
            else:
                items, failures = corrupt_on_device(self.plan, cell, units, loaded, self.device)
            self._score(items, failures)

    def _drain_cpu(self, group: _Group, stream: Any) -> None:
        """Collect the group's CPU results cell by cell (submission order) and score each cell in one call."""
        for _, units in group.cpu_cells:
            results = [stream.get() for _ in units]
            items, failures = collect_cpu(self.plan, units, results, group.loaded)
            self._score(items, failures)

    def _score(self, items: list[Corrupted], failures: list[Failure]) -> None:
        self._check_strict(failures)
        scored, more = score_cell(self.plan, self.detector, items)
        self._emit(scored, failures + more)

    def _emit(self, scored: list[Any], failures: list[Failure]) -> None:
        self._check_strict(failures)
        rows = to_rows(self.plan, self.cells, scored, failures)
        if rows:
            self.write(rows)

    def _check_strict(self, failures: Sequence[Failure]) -> None:
        if self.strict and failures:
            f = failures[0]
            raise SweepAbort(f"{f.unit.clip_id} / {f.unit.cell_id}: {f.message} (--strict stops at the first error)")
