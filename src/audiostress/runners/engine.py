"""The local scheduler of a sweep: pipelines the pure steps of ``work.py`` over the plan's groups.

Clips are processed in the plan's groups (``plan.py``; sized by the batch size,
``batching.py``: about ``batch_size`` windows each). The
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

Batches are bounded by samples (``max_batch_samples``, default
``batching.batch_samples_for(detector.batch_size)``, which is
``work.MAX_BATCH_SAMPLES`` up to batch size 16): a (group, cell) whose padded batch would exceed the
cap is packed into several batches in plan order (``work.pack``), each one padded
device batch and one detector call, so one long clip no longer pads a whole group
to its length; a clip above the cap runs alone (in chunks where the corruption
allows it). With the batch size, the cap fixes the composition; the default cap
follows from the batch size, which the store identity holds, so results are
byte-identical for a given batch size.

With ``corrupt_rate`` every clip is resampled to that rate right after loading,
before the clean cell is scored and before any corruption (``None``: native rate).

A detector that raises ``SystemExit`` or calls ``os._exit`` while scoring ends the
sweep with ``SweepAbort`` naming the detector and the exit code; the rows already
written stay in the store, so the same command resumes. ``os._exit`` cannot be
caught, so during each detector call (on the calling thread only) it is replaced
by a function that raises instead, and restored afterwards: the one place the
library touches a foreign global, as seeded RNG containment does for random
state. ``KeyboardInterrupt`` is not a detector failure and passes through.

Memory holds two groups of clean audio while the CPU results come in, and up to
``GROUPS_AHEAD`` groups (beyond two, only within ``CPU_RESULT_BATCHES`` x ``max_batch_samples``
samples of clean audio, so a group of long clips never waits beside another)
until the pool's first result arrives: while the worker processes start, the
engine scores the next groups' clean and device cells instead of waiting. Rows are
written per (group, cell) in whatever order they finish; the store orders them.
Memory also holds one (group, cell) of corrupted audio on the main thread, at most ``max_in_flight`` CPU results in the pool, and at most
one group's worth of CPU results (``CPU_RESULTS_PER_CELL`` per CPU cell) in the
stream, so the codecs can run a group ahead of the detector; those waiting
results also hold at most ``CPU_RESULT_BATCHES`` x ``max_batch_samples`` samples
(one result always fits), so a long clip's codec outputs do not pile up. Every (group, cell)
is written in one ``write`` call (one transaction).
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import torch

from .batching import DEFAULT_BATCH_SIZE, batch_samples_for
from .cache import CorruptCache
from .cached_work import CachedCorruption
from .corrupt_worker import CorruptResult, CpuTask, corrupt_item, crashed_item
from .grid import Cell, Grid
from .plan import GROUP_CLIPS, Plan, Unit
from .rows import ScoreRow
from .work import (
    MAX_BATCH_SAMPLES,
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

__all__ = [
    "CPU_RESULTS_PER_CELL", "CPU_RESULT_BATCHES", "MAX_BATCH_SAMPLES", "DetectorExited", "Engine", "SweepAbort",
    "contain_exits", "corrupt_batch", "cpu_result_window", "result_samples",
]  # fmt: skip

#: Corrupted CPU results allowed to wait per CPU-placed cell: one group's worth (the engine
#: passes its plan's ``group_clips``; this is the default group), so the codecs can code a
#: whole group ahead while the detector scores the previous one. The bound depends on the
#: grid and the group size, never on the dataset size.
CPU_RESULTS_PER_CELL = GROUP_CLIPS
#: Samples of corrupted CPU results allowed to wait, in padded batches' worth (``max_batch_samples``):
#: the count bound above holds for short clips, this one for long ones (one result always fits).
CPU_RESULT_BATCHES = 4


#: Groups of clean audio held at once at most before the pool's first result (while the workers start): those
#: whose CPU results are pending plus the one being scored. Afterwards, and with 2, groups strictly alternate.
GROUPS_AHEAD = 4


def _samples(groups: Iterable[_Group]) -> int:
    """Clean samples the waiting groups hold (the look-ahead's memory bound)."""
    return sum(int(audio.numel()) for g in groups for audio, _ in g.loaded.audio.values())


def result_samples(result: CorruptResult) -> int:
    """The samples a waiting CPU result holds (0 for an error)."""
    return 0 if result.audio is None else int(result.audio.size)


class SweepAbort(RuntimeError):
    """The sweep stopped: in strict mode on the first error (naming the clip and cell), or when the detector exited."""


class DetectorExited(BaseException):
    """``os._exit(code)`` called during a detector call (raised by the stand-in ``contain_exits`` installs).

    A ``BaseException``, so a detector's own ``except Exception`` does not swallow it.
    """

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(f"os._exit({code})")


@contextlib.contextmanager
def contain_exits() -> Iterator[None]:
    """Within the block, ``os._exit`` on this thread raises ``DetectorExited``; other threads exit as usual.

    The real ``os._exit`` is restored on leaving, also when the block raises.
    """
    real = os._exit
    caller = threading.get_ident()

    def stand_in(code: int) -> NoReturn:
        if threading.get_ident() != caller:
            real(code)
        raise DetectorExited(code)

    os._exit = stand_in  # type: ignore[assignment]  # same call signature; it raises instead of exiting
    try:
        yield
    finally:
        os._exit = real


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
    results waiting for the detector (default ``cpu_result_window``);
    ``corrupt_rate`` (Hz, or ``None`` for each file's native rate) is the rate
    every clip is resampled to after loading; ``max_batch_samples`` caps a padded
    batch and a detector call (longest clip x clips x channels; ``None``:
    ``batching.batch_samples_for`` of the detector's ``batch_size``). With
    ``cache`` (a ``CorruptCache``) corrupted audio is read from it when present
    and stored when computed (``cached_work.py``): hits never reach the pool,
    scores are the same bytes, and the counts are logged at the end of ``run``.
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
        corrupt_rate: int | None = None,
        max_batch_samples: int | None = None,
        cache: CorruptCache | None = None,
    ) -> None:
        if max_batch_samples is None:
            max_batch_samples = batch_samples_for(int(getattr(detector, "batch_size", DEFAULT_BATCH_SIZE)))
        if corrupt_rate is not None and (isinstance(corrupt_rate, bool) or not isinstance(corrupt_rate, int) or corrupt_rate < 1):
            raise ValueError(f"Expected `corrupt_rate` to be a rate in Hz (a positive int) or None, got {corrupt_rate!r}")
        if isinstance(max_batch_samples, bool) or not isinstance(max_batch_samples, int) or max_batch_samples < 1:
            raise ValueError(f"Expected `max_batch_samples` to be a positive integer, got {max_batch_samples!r}")
        self.plan = plan
        self.cells = {c.cell_id: c for c in grid.cells}
        self.node_dicts = {c.cell_id: c.node.to_dict() for c in grid.cells}  # CPU payloads
        self.detector = detector
        self.write = write
        self.device = device
        self.strict = strict
        self.work = work if work is not None else corrupt_item
        self.result_window = result_window
        self.corrupt_rate = corrupt_rate
        self.max_batch_samples = max_batch_samples
        #: The corrupted-audio cache's steps (``cached_work.py``), or ``None`` without ``cache``.
        self.cached = (
            CachedCorruption(cache, corrupt_rate=corrupt_rate, device=device, max_batch_samples=max_batch_samples)
            if cache is not None else None
        )  # fmt: skip

    def run(self, pool: Any) -> None:
        """Score every pending pair of the plan, CPU cells on ``pool`` (a ``WorkerPool``)."""
        window = self.result_window
        if window is None:
            window = cpu_result_window(self.cells.values(), int(getattr(pool, "max_in_flight", 1)), self.plan.group_clips)
        budget = CPU_RESULT_BATCHES * self.max_batch_samples
        waiting: collections.deque[_Group] = collections.deque()  # groups whose CPU results are still to collect
        delivering = False  # whether the pool has produced a result yet
        with pool.stream(
            self.work, on_crash=crashed_item, max_results=max(1, window), size=result_samples, max_result_size=budget
        ) as stream:
            for indices in self.plan.pending_groups():
                group = self._load(indices)
                for cell_id, units in group.cpu_cells:
                    cell = self.cells[cell_id]
                    for task in cpu_tasks(cell, units, group.loaded, self.node_dicts[cell_id], self.max_batch_samples):
                        if self.cached is None or not self.cached.hold(task):  # a cache hit never reaches the pool
                            stream.submit(task)
                self._score_clean_and_device(group.loaded)
                waiting.append(group)
                # Until the first CPU result arrives (the workers are starting), go on with the next groups' device
                # work within the look-ahead bounds; from then on alternate: collect the previous group's results.
                delivering = delivering or getattr(stream, "ready", lambda: True)()
                while len(waiting) > 1 and (delivering or len(waiting) >= GROUPS_AHEAD or _samples(waiting) > budget):
                    self._drain_cpu(waiting.popleft(), stream)
            while waiting:
                self._drain_cpu(waiting.popleft(), stream)
        if self.cached is not None:
            self.cached.finish()

    def _load(self, indices: Sequence[int]) -> _Group:
        loaded = load_group(self.plan, indices, corrupt_rate=self.corrupt_rate)
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
                corrupt = corrupt_on_device if self.cached is None else self.cached.on_device
                items, failures = corrupt(self.plan, cell, units, loaded, self.device, self.max_batch_samples)
            self._score(items, failures)

    def _drain_cpu(self, group: _Group, stream: Any) -> None:
        """Collect the group's CPU results cell by cell (submission order) and score each cell in one call."""
        for _, units in group.cpu_cells:
            if self.cached is None:
                results = [stream.get() for _ in units]
            else:
                results = [self.cached.take(u, stream.get, self.work) for u in units]
            items, failures = collect_cpu(self.plan, units, results, group.loaded)
            self._score(items, failures)

    def _score(self, items: list[Corrupted], failures: list[Failure]) -> None:
        self._check_strict(failures)
        try:
            with contain_exits():
                scored, more = score_cell(self.plan, self.detector, items, self.max_batch_samples)
        except (SystemExit, DetectorExited) as exc:
            raise SweepAbort(self._exit_message(exc, items)) from None
        self._emit(scored, failures + more)

    def _exit_message(self, exc: SystemExit | DetectorExited, items: Sequence[Corrupted]) -> str:
        name = str(getattr(self.detector, "name", type(self.detector).__name__))
        how = f"called os._exit({exc.code})" if isinstance(exc, DetectorExited) else f"raised SystemExit({exc.code!r})"
        where = f"{items[0].unit.clip_id} / {items[0].unit.cell_id}" if items else "?"
        return (
            f"detector {name!r} {how} while scoring {where} ({len(items)} clips in the call); the sweep stopped and "
            "the rows written so far are kept in the store. Fix the detector so that it raises an exception "
            "instead of exiting, then run the same command to resume."
        )

    def _emit(self, scored: list[Any], failures: list[Failure]) -> None:
        self._check_strict(failures)
        rows = to_rows(self.plan, self.cells, scored, failures)
        if rows:
            self.write(rows)

    def _check_strict(self, failures: Sequence[Failure]) -> None:
        if self.strict and failures:
            f = failures[0]
            raise SweepAbort(f"{f.unit.clip_id} / {f.unit.cell_id}: {f.message} (--strict stops at the first error)")
