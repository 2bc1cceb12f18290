"""The Ray Data engine of a sweep (``--engine ray``): the plan's (group, cell) units on a Ray cluster.

It composes the same pure steps as the local scheduler (``work.py``), so a
(group, cell) is loaded, corrupted and scored exactly as ``engine.py`` does it
and ``scores.csv`` comes out byte-identical for the same plan and batch size.

- **Rows.** Each row of the Ray dataset is one (group, cell) unit of the plan
  with a pending pair, never a single clip: a detector call keeps the fixed
  composition of its (group, cell). The plan itself travels once, as an argument
  of the map functions (Ray puts it in the object store).
- **Corruption** runs as stateless Ray tasks (``map_batches`` with a function):
  each loads its group and, for a CPU-placed cell, corrupts every clip with
  ``corrupt_worker.corrupt_item``, as a local pool worker does. The clean cell
  passes the audio through; a device-placed cell hands the clean audio on.
- **Scoring** runs on an actor pool (``compute=ActorPoolStrategy(size=n)``), one
  actor per GPU with ``num_gpus=1`` when the cluster has GPUs and the detector is
  on CUDA, else one CPU actor. Each actor rebuilds the detector once from its
  picklable ``DetectorSpec``, corrupts device-placed cells on its device and
  scores each unit in one call per sample rate and batch, as locally.
- **Store.** Only the driver writes: it iterates the dataset's output and hands
  each unit's rows to ``write`` (one SQLite transaction per unit), so a resume
  works as locally: the plan leaves out the pairs already stored.
- **Faults.** Ray reruns a corruption task, or restarts a scoring actor and
  resends its unit, when the process dies (Ray Data's defaults). Each start of a
  unit is counted by a small driver-owned actor (``AttemptLog``): a unit started
  more than ``RAY_RETRIES`` + 1 times (a clip that kills every worker) is not run
  again but gives an error row for each of its pending pairs, which a resume
  retries. A unit that Ray itself gives up on (``max_errored_blocks``) also
  becomes error rows, and a unit that arrives twice is written once. Exceptions
  inside the steps become error rows there, as locally. A killed driver leaves
  the rows written so far, and the same command resumes.

Ray is imported lazily: without it, ``--engine ray`` fails with the pip command
that installs it (``RAY_INSTALL``).
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .corrupt_worker import corrupt_item, one_line
from .engine import DetectorExited, SweepAbort, contain_exits
from .grid import Grid
from .plan import Plan, Unit
from .rows import ScoreRow
from .work import (
    MAX_BATCH_SAMPLES,
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

__all__ = ["RAY_INSTALL", "RAY_RETRIES", "TASK_ENV", "AttemptLog", "RayEngine", "RayMissingError", "WorkKey", "import_ray", "work_keys"]

logger = logging.getLogger("audiostress.sweep")

#: The command that installs the extra (named by every "Ray is missing" error).
RAY_INSTALL = 'pip install "audiostress[ray]"'
#: Reruns of a unit after its worker process died; one more death makes its pairs error rows.
RAY_RETRIES = 3
#: Native thread pools of a corruption task: one thread, as in the local worker pool (``pool.py``).
TASK_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


class RayMissingError(RuntimeError):
    """``--engine ray`` without Ray Data installed; the message gives the pip command."""


def import_ray() -> Any:
    """The ``ray`` module with ``ray.data`` loaded; ``RayMissingError`` (with ``RAY_INSTALL``) when it is missing."""
    try:
        import ray
        import ray.data  # noqa: F401  # the Data library is a separate part of the package
    except ImportError as exc:
        raise RayMissingError(f"--engine ray needs Ray Data, which is not installed ({exc}); install it with: {RAY_INSTALL}") from None
    return ray


@dataclass(frozen=True)
class WorkKey:
    """One (group, cell) unit: the position of the group in the plan's pending groups, its clips and the cell."""

    key: int
    clips: tuple[int, ...]
    cell_id: str


def work_keys(plan: Plan) -> Iterator[WorkKey]:
    """The plan's (group, cell) units that hold a pending pair, in plan order (groups, then grid order)."""
    key = 0
    for indices in plan.pending_groups():
        for cell_id in plan.cell_ids:
            if any(plan.is_pending(i, cell_id) for i in indices):
                yield WorkKey(key, tuple(indices), cell_id)
                key += 1


class AttemptLog:
    """Counts the starts of each (unit, stage) on the cluster (a Ray actor owned by the driver)."""

    def __init__(self) -> None:
        self.starts: dict[tuple[int, str], int] = {}

    def begin(self, key: int, stage: str) -> int:
        """Record one more start of ``stage`` for unit ``key``; returns how many there have been."""
        n = self.starts[(key, stage)] = self.starts.get((key, stage), 0) + 1
        return n


@dataclass
class _Context:
    """What every task and actor needs besides its row: the plan, the grid and the work settings."""

    plan: Plan
    grid: Grid
    corrupt_rate: int | None
    max_batch_samples: int
    #: The ``AttemptLog`` actor's handle and the reruns allowed after a worker died.
    attempts: Any = None
    retries: int = RAY_RETRIES

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


@dataclass
class _Prepared:
    """A unit after the corruption task: items ready to score, or the clean group of a device cell."""

    work: WorkKey
    items: list[Corrupted] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: A device-placed cell: the units and the loaded group, corrupted on the scoring actor's device.
    device: tuple[list[Unit], LoadedGroup] | None = None


@dataclass
class _Outcome:
    """What the driver receives for a unit: its rows, or why the sweep must stop."""

    key: int
    rows: list[ScoreRow] = field(default_factory=list)
    abort: str | None = None


def _column(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _broken(context: _Context, work: WorkKey, message: str) -> list[ScoreRow]:
    """Error rows for every pending pair of a unit (a step that raised, or a unit Ray gave up on)."""
    failures = [Failure(context.plan.unit(i, work.cell_id), message) for i in work.clips if context.plan.is_pending(i, work.cell_id)]
    return to_rows(context.plan, context.cells, [], failures)


# -- the corruption task ---------------------------------------------------------------------------
def _prepare(context: _Context, work: WorkKey) -> _Prepared:
    plan, cell = context.plan, context.cells[work.cell_id]
    loaded = load_group(plan, list(work.clips), corrupt_rate=context.corrupt_rate)
    prepared = _Prepared(work, failures=[f for f in loaded.failures if f.unit.cell_id == work.cell_id])
    units = cell_units(plan, loaded, work.cell_id)
    if not units:
        return prepared
    if cell.node.placement == "cpu":
        tasks = cpu_tasks(cell, units, loaded, max_batch_samples=context.max_batch_samples)
        results = [corrupt_item(task) for task in tasks]
        prepared.items, more = collect_cpu(plan, units, results, loaded)
        prepared.failures += more
    elif cell.corruption == "clean":
        prepared.items = clean_items(units, loaded)
    else:
        prepared.device = (units, loaded)
    return prepared


def corrupt_stage(batch: dict[str, np.ndarray], context: _Context) -> dict[str, np.ndarray]:
    """Ray task: load and corrupt the batch's units (``batch["work"]``: pickled ``WorkKey``s)."""
    out = []
    for blob in batch["work"]:
        work: WorkKey = pickle.loads(blob)
        why = context.too_many_starts(work, "corrupting")
        try:
            result: Any = _Outcome(work.key, _broken(context, work, why)) if why else _prepare(context, work)
        except Exception as exc:  # a bug in a step: error rows for the unit, the sweep goes on
            result = _Outcome(work.key, _broken(context, work, f"corruption step failed: {one_line(exc)}"))
            logger.debug("unit %d failed:\n%s", work.key, traceback.format_exc())
        out.append(pickle.dumps(result))
    return {"key": batch["key"], "payload": _column(out)}


# -- the scoring actor ------------------------------------------------------------------------------
class Scorer:
    """Ray actor: rebuilds the detector once from its ``DetectorSpec`` and scores prepared units."""

    def __init__(self, detector: Any, context: _Context) -> None:
        self.detector = detector.load() if hasattr(detector, "load") and not hasattr(detector, "score") else detector
        self.device = torch.device(getattr(self.detector, "device", None) or "cpu")
        self.context = context

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = []
        for blob in batch["payload"]:
            result = pickle.loads(blob)
            if isinstance(result, _Prepared):
                result = self._score(result)
            out.append(pickle.dumps(result))
        return {"key": batch["key"], "payload": _column(out)}

    def _score(self, prepared: _Prepared) -> _Outcome:
        context, work = self.context, prepared.work
        why = context.too_many_starts(work, "scoring")
        if why:
            return _Outcome(work.key, _broken(context, work, why))
        try:
            items, failures = prepared.items, list(prepared.failures)
            if prepared.device is not None:
                units, loaded = prepared.device
                items, more = corrupt_on_device(
                    context.plan, context.cells[work.cell_id], units, loaded, self.device, context.max_batch_samples
                )
                failures += more
            with contain_exits():
                scored, more = score_cell(context.plan, self.detector, items, context.max_batch_samples)
        except (SystemExit, DetectorExited) as exc:
            code = exc.code
            how = f"called os._exit({code})" if isinstance(exc, DetectorExited) else f"raised SystemExit({code!r})"
            return _Outcome(work.key, abort=f"the detector {how} while scoring the cell {work.cell_id}")
        except Exception as exc:
            logger.debug("unit %d failed:\n%s", work.key, traceback.format_exc())
            return _Outcome(work.key, _broken(context, work, f"scoring step failed: {one_line(exc)}"))
        return _Outcome(work.key, to_rows(context.plan, context.cells, scored, failures + more))


# -- the driver ---------------------------------------------------------------------------------------
class RayEngine:
    """Runs a plan on a Ray cluster: see the module docstring. ``write`` receives one unit's rows at a time.

    ``address``: the cluster to join (``"auto"``, ``ray://host:10001``, ``host:6379``);
    ``None`` joins the cluster this process already started, or starts a local
    one for the sweep (and stops it afterwards). ``actor_device`` is where the
    scoring actors put the detector (``"cuda"`` on GPU nodes; default: the
    detector's own device). ``actors`` overrides the pool size (default: the
    cluster's GPUs for a CUDA detector, else 1).
    """

    def __init__(
        self,
        plan: Plan,
        grid: Grid,
        detector: Any,
        write: Callable[[list[ScoreRow]], None],
        *,
        strict: bool = False,
        corrupt_rate: int | None = None,
        max_batch_samples: int = MAX_BATCH_SAMPLES,
        address: str | None = None,
        actor_device: str | None = None,
        actors: int | None = None,
        retries: int = RAY_RETRIES,
    ) -> None:
        if actors is not None and (isinstance(actors, bool) or not isinstance(actors, int) or actors < 1):
            raise ValueError(f"Expected `actors` to be a positive integer or None, got {actors!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"Expected `retries` to be an integer >= 0, got {retries!r}")
        self.context = _Context(plan, grid, corrupt_rate, max_batch_samples, retries=retries)
        self.detector = detector
        self.write = write
        self.strict = strict
        self.address = address
        self.actor_device = actor_device
        self.actors = actors
        self.retries = retries

    def detector_source(self) -> Any:
        """What the actors rebuild the detector from: its ``DetectorSpec`` (moved to ``actor_device``), else the object."""
        spec = getattr(self.detector, "spec", None)
        if spec is None:
            return self.detector
        if self.actor_device is not None and dataclasses.is_dataclass(spec) and not isinstance(spec, type):
            spec = dataclasses.replace(spec, device=self.actor_device)
        return spec

    def run(self) -> None:
        """Score every pending pair of the plan on the cluster; raises ``SweepAbort`` as the local engine does."""
        ray = import_ray()
        works = {w.key: w for w in work_keys(self.context.plan)}
        if not works:
            return
        started = not ray.is_initialized()
        if started:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
        try:
            self._run(ray, works)
        finally:
            if started:
                ray.shutdown()

    def _pool(self, ray: Any) -> tuple[int, int]:
        """(actors, GPUs per actor): one per GPU for a CUDA detector on a cluster with GPUs, else one CPU actor."""
        device = str(self.actor_device or getattr(self.detector, "device", "cpu"))
        gpus = int(ray.cluster_resources().get("GPU", 0)) if device.startswith("cuda") else 0
        if device.startswith("cuda") and not gpus:
            raise ValueError(f"--device {device}: the Ray cluster has no GPU; add a GPU node or use --device cpu")
        return (self.actors or max(1, gpus)), (1 if gpus else 0)

    def _run(self, ray: Any, works: dict[int, WorkKey]) -> None:
        from ray.data import ActorPoolStrategy

        size, gpus = self._pool(ray)
        self.context.attempts = ray.remote(num_cpus=0)(AttemptLog).remote()
        rows = [{"key": k, "work": pickle.dumps(w)} for k, w in works.items()]
        ds = ray.data.from_items(rows, override_num_blocks=len(rows))
        ds.context.enable_progress_bars = False
        ds.context.print_on_execution_start = False
        ds.context.max_errored_blocks = -1  # a unit Ray gave up on becomes error rows below
        # The tasks' own environment also keeps Ray from fusing them into the actors (the codecs stay in tasks).
        ds = ds.map_batches(
            corrupt_stage, batch_size=1, fn_kwargs={"context": self.context}, num_cpus=1, runtime_env={"env_vars": TASK_ENV}
        )
        ds = ds.map_batches(
            Scorer, batch_size=1, compute=ActorPoolStrategy(size=size), num_gpus=gpus, num_cpus=1,
            fn_constructor_kwargs={"detector": self.detector_source(), "context": self.context},
        )  # fmt: skip
        seen: set[int] = set()
        for row in ds.iter_rows():
            outcome: _Outcome = pickle.loads(row["payload"])
            if outcome.key in seen:  # a retried unit can only be written once
                logger.debug("unit %d arrived twice; the second copy is dropped", outcome.key)
                continue
            seen.add(outcome.key)
            self._emit(outcome)
        for key in sorted(set(works) - seen):
            work = works[key]
            message = f"lost on the Ray cluster: Ray gave up on this group of cell {work.cell_id} (see Ray's log)"
            self._emit(_Outcome(key, _broken(self.context, work, message)))

    def _emit(self, outcome: _Outcome) -> None:
        if outcome.abort is not None:
            raise SweepAbort(
                f"{outcome.abort}; the sweep stopped and the rows written so far are kept in the store. Fix the "
                "detector so that it raises an exception instead of exiting, then run the same command to resume."
            )
        if self.strict:
            bad = next((r for r in outcome.rows if r.error), None)
            if bad is not None:
                raise SweepAbort(f"{bad.clip_id} / {bad.cell_id}: {bad.error} (--strict stops at the first error)")
        if outcome.rows:
            self.write(outcome.rows)
