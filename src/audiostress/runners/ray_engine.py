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
- **Cache.** With ``cache`` (``--cache DIR``) the corruption tasks and the
  scoring actors read and fill the corrupted-audio cache exactly as the local
  engine does (``cached_work.py``: the same keys, so a cache filled by a local
  sweep serves a Ray sweep and back). Each worker process opens the folder
  itself, so on a multi-node cluster it must be the same shared folder on every
  node (NFS or similar); a node-local path still gives the same scores, with
  hits only on the node that stored them. The driver logs the summed counts.
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

import logging
import pickle
from collections.abc import Callable, Iterator
from typing import Any

from ..detectors.portable import portable
from .engine import SweepAbort
from .grid import Grid
from .plan import Plan
from .ray_stages import RAY_RETRIES, AttemptLog, Outcome, Scorer, StageContext, WorkKey, broken_rows, corrupt_stage
from .rows import ScoreRow
from .work import MAX_BATCH_SAMPLES

__all__ = ["RAY_INSTALL", "RAY_RETRIES", "TASK_ENV", "AttemptLog", "RayEngine", "RayMissingError", "WorkKey", "import_ray", "work_keys"]

logger = logging.getLogger("audiostress.sweep")

#: The command that installs the extra (named by every "Ray is missing" error).
RAY_INSTALL = 'pip install "audiostress[ray]"'
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


def work_keys(plan: Plan) -> Iterator[WorkKey]:
    """The plan's (group, cell) units that hold a pending pair, in plan order (groups, then grid order)."""
    key = 0
    for indices in plan.pending_groups():
        for cell_id in plan.cell_ids:
            if any(plan.is_pending(i, cell_id) for i in indices):
                yield WorkKey(key, tuple(indices), cell_id)
                key += 1


# -- the driver ---------------------------------------------------------------------------------------
class RayEngine:
    """Runs a plan on a Ray cluster: see the module docstring. ``write`` receives one unit's rows at a time.

    ``address``: the cluster to join (``"auto"``, ``ray://host:10001``, ``host:6379``);
    ``None`` joins the cluster this process already started, or starts a local
    one for the sweep (and stops it afterwards). ``actor_device`` is where the
    scoring actors put the detector (``"cuda"`` on GPU nodes; default: the
    detector's own device). ``actors`` overrides the pool size (default: the
    cluster's GPUs for a CUDA detector, else 1). ``cache``/``cache_size``: the
    corrupted-audio cache folder and its bound (see the module docstring).
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
        cache: str | None = None,
        cache_size: str | int | None = None,
    ) -> None:
        if actors is not None and (isinstance(actors, bool) or not isinstance(actors, int) or actors < 1):
            raise ValueError(f"Expected `actors` to be a positive integer or None, got {actors!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"Expected `retries` to be an integer >= 0, got {retries!r}")
        self.context = StageContext(plan, grid, corrupt_rate, max_batch_samples, retries=retries,
                                cache=None if cache is None else str(cache), cache_size=cache_size)
        #: Summed (hits, computed) of the cache over the units received.
        self.cache_counts = (0, 0)
        self.detector = detector
        self.write = write
        self.strict = strict
        self.address = address
        self.actor_device = actor_device
        self.actors = actors
        self.retries = retries

    def detector_source(self) -> Any:
        """What the actors rebuild the detector from: its ``DetectorSpec`` (moved to ``actor_device``), else the object."""
        return portable(self.detector, device=self.actor_device)

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
            outcome: Outcome = pickle.loads(row["payload"])
            if outcome.key in seen:  # a retried unit can only be written once
                logger.debug("unit %d arrived twice; the second copy is dropped", outcome.key)
                continue
            seen.add(outcome.key)
            self.cache_counts = (self.cache_counts[0] + outcome.cache[0], self.cache_counts[1] + outcome.cache[1])
            self._emit(outcome)
        for key in sorted(set(works) - seen):
            work = works[key]
            message = f"lost on the Ray cluster: Ray gave up on this group of cell {work.cell_id} (see Ray's log)"
            self._emit(Outcome(key, broken_rows(self.context, work, message)))
        if self.context.cache is not None:
            logger.info("corrupted-audio cache %s: %d hits, %d computed on the Ray cluster", self.context.cache, *self.cache_counts)

    def _emit(self, outcome: Outcome) -> None:
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
