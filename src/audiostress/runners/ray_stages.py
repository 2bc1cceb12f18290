"""The two stages of the Ray engine (``ray_engine.py``): the corruption task and the scoring actor.

Both run on the cluster's workers and compose the local engine's pure steps
(``work.py``): ``corrupt_stage`` loads a (group, cell) unit and corrupts its
CPU-placed cell as a local pool worker does; ``Scorer`` rebuilds the detector
from its ``DetectorSpec``, corrupts a device-placed cell on its device and
scores the unit. What they exchange with the driver are pickled ``WorkKey``,
``Prepared`` and ``Outcome`` objects; ``StageContext`` carries the plan, the
grid and the settings every worker needs, and counts unit starts through the
driver's ``AttemptLog`` actor. With a corrupted-audio cache each worker process
opens the folder once (``StageContext.cached``).
"""

from __future__ import annotations

import functools
import logging
import pickle
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..detectors.portable import rebuild
from .cache import CorruptCache
from .cached_work import CachedCorruption
from .corrupt_worker import corrupt_item, one_line
from .engine import DetectorExited, contain_exits
from .grid import Grid
from .plan import Plan, Unit
from .rows import ScoreRow
from .work import (
    Corrupted,
    Failure,
    LoadedGroup,
    cell_units,
    clean_items,
    collect_cpu,
    corrupt_on_device,
    cpu_tasks,
    load_group,
    score_cell,
    to_rows,
)

__all__ = ["RAY_RETRIES", "AttemptLog", "Outcome", "Prepared", "Scorer", "StageContext", "WorkKey", "broken_rows", "corrupt_stage"]

logger = logging.getLogger("audiostress.sweep")

#: Reruns of a unit after its worker process died; one more death makes its pairs error rows.
RAY_RETRIES = 3


@dataclass(frozen=True)
class WorkKey:
    """One (group, cell) unit: the position of the group in the plan's pending groups, its clips and the cell."""

    key: int
    clips: tuple[int, ...]
    cell_id: str


class AttemptLog:
    """Counts the starts of each (unit, stage) on the cluster (a Ray actor owned by the driver)."""

    def __init__(self) -> None:
        self.starts: dict[tuple[int, str], int] = {}

    def begin(self, key: int, stage: str) -> int:
        """Record one more start of ``stage`` for unit ``key``; returns how many there have been."""
        n = self.starts[(key, stage)] = self.starts.get((key, stage), 0) + 1
        return n


@dataclass
class StageContext:
    """What every task and actor needs besides its row: the plan, the grid and the work settings."""

    plan: Plan
    grid: Grid
    corrupt_rate: int | None
    max_batch_samples: int
    #: The ``AttemptLog`` actor's handle and the reruns allowed after a worker died.
    attempts: Any = None
    retries: int = RAY_RETRIES
    #: The corrupted-audio cache folder and its bound (``--cache``/``--cache-size``), or None.
    cache: str | None = None
    cache_size: str | int | None = None

    def cached(self, device: torch.device) -> CachedCorruption | None:
        """This worker process's view of the cache (opened once per process and device), or None without one."""
        if self.cache is None:
            return None
        key = (self.cache, str(self.cache_size), str(device))
        if key not in _CACHES:
            _CACHES[key] = CachedCorruption(
                CorruptCache(self.cache, max_bytes=self.cache_size), corrupt_rate=self.corrupt_rate, device=device,
                max_batch_samples=self.max_batch_samples,
            )  # fmt: skip
        return _CACHES[key]

    def too_many_starts(self, work: WorkKey, stage: str) -> str | None:
        """Why a unit must not run again (its workers died too often), else None."""
        if self.attempts is None:
            return None
        import ray

        starts = int(ray.get(self.attempts.begin.remote(work.key, stage)))
        if starts <= self.retries + 1:
            return None
        return f"the Ray worker {stage} this group of cell {work.cell_id} died {starts - 1} times; not run again"

    def __post_init__(self) -> None:
        self.cells = {c.cell_id: c for c in self.grid.cells}


#: The caches a worker process has opened (``StageContext.cached``), kept for the process's life.
_CACHES: dict[tuple[str, str, str], CachedCorruption] = {}


def _counted(cached: CachedCorruption | None, before: tuple[int, int]) -> tuple[int, int]:
    """The (hits, computed) a step added, after flushing the cache's access times; (0, 0) without a cache."""
    if cached is None:
        return (0, 0)
    cached.cache.flush()
    return (cached.hits - before[0], cached.computed - before[1])


def _counts(cached: CachedCorruption | None) -> tuple[int, int]:
    return (0, 0) if cached is None else (cached.hits, cached.computed)


@dataclass
class Prepared:
    """A unit after the corruption task: items ready to score, or the clean group of a device cell."""

    work: WorkKey
    items: list[Corrupted] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: A device-placed cell: the units and the loaded group, corrupted on the scoring actor's device.
    device: tuple[list[Unit], LoadedGroup] | None = None
    #: Cache hits and computed entries of the corruption task.
    cache: tuple[int, int] = (0, 0)


@dataclass
class Outcome:
    """What the driver receives for a unit: its rows, or why the sweep must stop."""

    key: int
    rows: list[ScoreRow] = field(default_factory=list)
    abort: str | None = None
    #: Cache hits and computed entries of the unit (both stages).
    cache: tuple[int, int] = (0, 0)


def _column(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def broken_rows(context: StageContext, work: WorkKey, message: str) -> list[ScoreRow]:
    """Error rows for every pending pair of a unit (a step that raised, or a unit Ray gave up on)."""
    failures = [Failure(context.plan.unit(i, work.cell_id), message) for i in work.clips if context.plan.is_pending(i, work.cell_id)]
    return to_rows(context.plan, context.cells, [], failures)


# -- the corruption task ---------------------------------------------------------------------------
def _prepare(context: StageContext, work: WorkKey) -> Prepared:
    plan, cell = context.plan, context.cells[work.cell_id]
    loaded = load_group(plan, list(work.clips), corrupt_rate=context.corrupt_rate)
    prepared = Prepared(work, failures=[f for f in loaded.failures if f.unit.cell_id == work.cell_id])
    units = cell_units(plan, loaded, work.cell_id)
    if not units:
        return prepared
    if cell.node.placement == "cpu":
        tasks = cpu_tasks(cell, units, loaded, max_batch_samples=context.max_batch_samples)
        cached = context.cached(torch.device("cpu"))
        if cached is None:
            results = [corrupt_item(task) for task in tasks]
        else:
            before = _counts(cached)
            results = []
            for unit, task in zip(units, tasks):
                cached.hold(task)
                results.append(cached.take(unit, functools.partial(corrupt_item, task), corrupt_item))
            prepared.cache = _counted(cached, before)
        prepared.items, more = collect_cpu(plan, units, results, loaded)
        prepared.failures += more
    elif cell.corruption == "clean":
        prepared.items = clean_items(units, loaded)
    else:
        prepared.device = (units, loaded)
    return prepared


def corrupt_stage(batch: dict[str, np.ndarray], context: StageContext) -> dict[str, np.ndarray]:
    """Ray task: load and corrupt the batch's units (``batch["work"]``: pickled ``WorkKey``s)."""
    out = []
    for blob in batch["work"]:
        work: WorkKey = pickle.loads(blob)
        why = context.too_many_starts(work, "corrupting")
        try:
            result: Any = Outcome(work.key, broken_rows(context, work, why)) if why else _prepare(context, work)
        except Exception as exc:  # a bug in a step: error rows for the unit, the sweep goes on
            result = Outcome(work.key, broken_rows(context, work, f"corruption step failed: {one_line(exc)}"))
            logger.debug("unit %d failed:\n%s", work.key, traceback.format_exc())
        out.append(pickle.dumps(result))
    return {"key": batch["key"], "payload": _column(out)}


# -- the scoring actor ------------------------------------------------------------------------------
class Scorer:
    """Ray actor: rebuilds the detector once from its ``DetectorSpec`` and scores prepared units."""

    def __init__(self, detector: Any, context: StageContext) -> None:
        self.detector = rebuild(detector)
        self.device = torch.device(getattr(self.detector, "device", None) or "cpu")
        self.context = context

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = []
        for blob in batch["payload"]:
            result = pickle.loads(blob)
            if isinstance(result, Prepared):
                result = self._score(result)
            out.append(pickle.dumps(result))
        return {"key": batch["key"], "payload": _column(out)}

    def _score(self, prepared: Prepared) -> Outcome:
        context, work = self.context, prepared.work
        why = context.too_many_starts(work, "scoring")
        if why:
            return Outcome(work.key, broken_rows(context, work, why))
        cached = context.cached(self.device)
        before = _counts(cached)
        try:
            items, failures = prepared.items, list(prepared.failures)
            if prepared.device is not None:
                units, loaded = prepared.device
                corrupt = corrupt_on_device if cached is None else cached.on_device
                items, more = corrupt(
                    context.plan, context.cells[work.cell_id], units, loaded, self.device, context.max_batch_samples
                )
                failures += more
            with contain_exits():
                scored, more = score_cell(context.plan, self.detector, items, context.max_batch_samples)
        except (SystemExit, DetectorExited) as exc:
            code = exc.code
            how = f"called os._exit({code})" if isinstance(exc, DetectorExited) else f"raised SystemExit({code!r})"
            return Outcome(work.key, abort=f"the detector {how} while scoring the cell {work.cell_id}")
        except Exception as exc:
            logger.debug("unit %d failed:\n%s", work.key, traceback.format_exc())
            return Outcome(work.key, broken_rows(context, work, f"scoring step failed: {one_line(exc)}"))
        added = _counted(cached, before)
        cache = (prepared.cache[0] + added[0], prepared.cache[1] + added[1])
        return Outcome(work.key, to_rows(context.plan, context.cells, scored, failures + more), cache=cache)
