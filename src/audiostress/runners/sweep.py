"""``run_sweep``: one detector × one dataset × one grid -> results.sqlite, scores.csv, metrics.json, report.

>>> from pathlib import Path
>>> from audiostress.runners.sweep import SweepConfig, run_sweep
>>> config = SweepConfig(detector="my_model.py:build", data="data/", grid="quick", out=Path("runs/x"))
>>> result = run_sweep(config)  # doctest: +SKIP

The plan (``plan.py``) keys every (clip, cell) pair and its seed; the engine
(``engine.py``) loads, corrupts and scores the pending pairs; the store
(``store.py``) keeps them so an interrupted sweep resumes where it stopped.
After the pairs are done, the exporters (``export.py``: ``scores.csv``,
``metrics.json``, the report) write the results from the store.

Nothing here prints: notes, dataset problems and warnings go to the
``audiostress.sweep`` logger, and so does the summary line (INFO). A progress
bar is drawn on stderr only with ``progress=True``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .batching import group_clips_of
from .cache import CorruptCache, parse_size
from .engine import Engine
from .export import ExportContext, exporters_for, run_exporters, write_report_files
from .grid import Grid, load_grid
from .lock import SweepLock
from .outcome import error_groups, failed_pairs, format_groups, parse_max_errors, sweep_warnings, too_many_errors
from .plan import Shard, empty_shard_warning, make_plan, parse_shard
from .pool import WorkerPool
from .preflight import describe_input, preflight, read_headers
from .progress import Progress
from .provenance import build_provenance, sweep_identity
from .rows import ScoreRow
from .shared_pool import DEFAULT_KEEP_S, worker_lease
from .store import STORE_NAME, Store
from .threads import check_torch_threads, crowding_hint, resume_note, torch_threads

logger = logging.getLogger("audiostress.sweep")

#: The engines a sweep can run on (``SweepConfig.engine``).
ENGINES = ("local", "ray")


@dataclass
class SweepConfig:
    """Everything one sweep needs; mirrors the ``audiostress sweep`` flags."""

    detector: Any
    data: Any
    grid: str | os.PathLike[str] | Grid = "quick"
    out: Path = Path("runs/sweep")
    checkpoint: str | None = None
    batch_size: int = 16
    device: str = "cpu"
    precision: str = "fp32"
    workers: int = 1
    seed: int = 0
    limit: int | None = None
    shard: str | Shard | None = None
    strict: bool = False
    #: Kept for the CLI; a quiet sweep draws no bar even with ``progress``.
    quiet: bool = False
    #: Draw a rich progress bar on stderr; otherwise progress is logged at DEBUG every few seconds.
    progress: bool = False
    trust_checkpoint: bool = False
    detector_overrides: dict[str, Any] = field(default_factory=dict)
    audio_dir: str | None = None
    reference: str | os.PathLike[str] | None = None
    report: bool = True
    n_bootstrap: int = 1000
    #: The rate every clip is resampled to before any corruption: ``"detector"`` (the
    #: detector's input rate), ``"native"`` (each file's own rate) or a rate in Hz.
    corrupt_rate: str | int = "detector"
    #: ``--param K=V`` overrides for every grid cell whose corruption declares ``K``.
    grid_params: dict[str, Any] = field(default_factory=dict)
    #: Failed pairs accepted (a count or ``"P%"``); beyond it ``run_sweep`` raises
    #: ``TooManyErrorsError`` after writing the results. ``None``: never raise.
    max_errors: int | str | None = None
    #: Check the detector's contract and every cell before any pair is scored (``preflight.py``).
    preflight: bool = True
    #: Where the plan runs: ``"local"`` (``engine.py``: this process and its worker pool) or
    #: ``"ray"`` (``ray_engine.py``: a Ray cluster; the extra ``audiostress[ray]``).
    engine: str = "local"
    #: The Ray cluster of ``engine="ray"`` (``"auto"``, ``host:6379``, ``ray://host:10001``);
    #: ``None``: the one this process already joined, else a local cluster for the sweep.
    ray_address: str | None = None
    #: The corrupted-audio cache folder (``cache.py``, ``--cache``): corrupt once, score many detectors.
    cache: str | os.PathLike[str] | None = None
    #: Its size bound, least recently used entries evicted first (``"2G"``, ``"500M"``, bytes); ``None``: unbounded.
    cache_size: str | int | None = None
    #: Seconds the worker processes stay up after the sweep for the next one in this process (``shared_pool.py``).
    keep_workers: float = DEFAULT_KEEP_S
    #: Torch intra-op threads of this process for the sweep, restored afterwards (``threads.py``); ``None``: as they are.
    torch_threads: int | None = None


@dataclass
class SweepRun:
    """What a finished sweep returns (``SweepResult`` is the same class).

    ``failed``/``pairs`` count the whole store's failed and expected pairs (not
    only this invocation's); ``failures`` groups them by message, most frequent first.
    """

    out_dir: Path
    n_scored: int
    n_errors: int
    n_skipped: int
    metrics: dict[str, Any]
    elapsed_s: float
    report: Path | None = None
    failed: int = 0
    pairs: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


SweepResult = SweepRun


class TooManyErrorsError(RuntimeError):
    """More pairs failed than ``max_errors`` allows; the results are written, ``run`` holds them."""

    def __init__(self, run: SweepRun, max_errors: int | str) -> None:
        self.run = run
        self.max_errors = max_errors
        top = run.failures[0] if run.failures else {"error": "see metrics.json `errors`", "count": run.failed}
        super().__init__(
            f"{run.failed} of {run.pairs} pairs failed (more than --max-errors {max_errors}); "
            f"most often ({top['count']}x): {top['error']}"
        )


def run_sweep(config: SweepConfig) -> SweepRun:
    """Run (or resume) a sweep and export its results; see the module docstring.

    Holds the lock on ``config.out`` for the whole run (``SweepLockedError`` when
    another sweep has it) and runs the preflight first (``PreflightError``).
    Raises ``TooManyErrorsError`` after exporting when ``max_errors`` is set and exceeded.
    """
    _check_config(config)
    limit = parse_max_errors(config.max_errors) if config.max_errors is not None else None
    grid = resolve_grid(config)
    for note in grid.notes:
        logger.info("note: %s", note)
    # The worker processes start now, while the dataset, detector, preflight and store are prepared; a grid
    # without CPU-placed cells needs none.
    codecs = config.engine == "local" and any(c.node.placement == "cpu" for c in grid.cells)
    with torch_threads(config.torch_threads) as threads:
        hint = crowding_hint(threads, config.workers, config.device) if codecs else None
        if hint:
            logger.info("note: %s", hint)
        with worker_lease(config.workers if codecs else 0, keep_s=config.keep_workers) as pool:
            return _run_with_pool(config, grid, limit, pool)


def _run_with_pool(config: SweepConfig, grid: Grid, limit: tuple[str, float] | None, pool: WorkerPool) -> SweepRun:
    dataset = resolve_dataset(config)
    for problem in dataset.problems:
        logger.warning("dataset problem: %s: %s", problem.row, problem.message)
    # On Ray the driver only checks and describes the detector: the scoring actors load it on config.device.
    detector = resolve_detector(config if config.engine == "local" else dataclasses.replace(config, device="cpu"))
    shard = parse_shard(config.shard)
    corrupt_rate = resolve_corrupt_rate(config.corrupt_rate, detector)
    out = Path(config.out)
    with SweepLock(out):
        run = _run_locked(config, grid, dataset, detector, shard, corrupt_rate, out, pool)
    if limit is not None and config.max_errors is not None and too_many_errors(failed=run.failed, total=run.pairs, limit=limit):
        raise TooManyErrorsError(run, config.max_errors)
    return run


def _run_locked(
    config: SweepConfig, grid: Grid, dataset: Any, detector: Any, shard: Shard | None, corrupt_rate: int | None, out: Path,
    pool: WorkerPool,
) -> SweepRun:
    headers = read_headers(dataset.clips)
    device = _device_of(detector, config)
    if config.preflight:
        preflight(detector, dataset.clips, grid.cells, headers, corrupt_rate=corrupt_rate, device=device)
    identity = sweep_identity(detector, dataset, grid, config.seed, corrupt_rate=corrupt_rate)
    provenance = build_provenance(detector, dataset, grid, config, shard, corrupt_rate=corrupt_rate, headers=headers)
    provenance["dataset_problems"] = [{"row": str(p.row), "message": str(p.message)} for p in dataset.problems]
    with Store(out / STORE_NAME) as store:
        earlier = ((store.provenance() or {}).get("run") or {}).get("torch_threads")
        store.begin_run(identity, provenance, [c.to_dict() for c in grid.cells], str(shard) if shard else None)
        # Groups follow the batch size (batching.py), computed from the whole dataset so every shard agrees.
        plan = make_plan(dataset.clips, [c.cell_id for c in grid.cells], config.seed, shard=shard, done=store.done_pairs(),
                         group_clips=group_clips_of(detector, headers, corrupt_rate))
        warning = empty_shard_warning(plan, shard, len(dataset.clips))
        if warning:
            logger.warning("%s", warning)
        pending = plan.pending
        mixed = resume_note(earlier, provenance["run"]["torch_threads"]) if 0 < pending < plan.total else None
        if mixed:
            logger.warning("%s", mixed)
        bar = config.progress and not config.quiet
        progress = Progress(pending, skipped=plan.total - pending, label=grid.name, bar=bar)

        def write(rows: list[ScoreRow]) -> None:
            store.write_rows(rows)
            errors = sum(1 for r in rows if r.error)
            progress.advance(scored=len(rows) - errors, errors=errors)

        cache = CorruptCache(config.cache, max_bytes=config.cache_size) if config.cache is not None else None
        engine = Engine(plan, grid, detector, write, device=device, strict=config.strict, corrupt_rate=corrupt_rate, cache=cache)
        try:
            if pending and config.engine == "ray":
                from .ray_engine import RayEngine

                RayEngine(
                    plan, grid, detector, write, strict=config.strict, corrupt_rate=corrupt_rate,
                    max_batch_samples=engine.max_batch_samples, address=config.ray_address, actor_device=config.device,
                    cache=None if config.cache is None else str(Path(config.cache).expanduser().resolve()),
                    cache_size=config.cache_size,
                ).run()  # fmt: skip
            elif pending:
                engine.run(pool)
        finally:
            progress.close()
            if cache is not None:
                cache.close()
        rows = store.rows()
    reference = json.loads(Path(config.reference).read_text(encoding="utf-8")) if config.reference else None
    context = ExportContext(
        out, rows, [c.to_dict() for c in grid.cells], grid.codec_pair, provenance,
        seed=config.seed, n_bootstrap=config.n_bootstrap, reference=reference,
    )  # fmt: skip
    run_exporters(context, exporters_for(config.report))
    metrics = context.metrics or {}
    failed, pairs = failed_pairs(metrics)
    run = SweepRun(
        out, progress.scored, progress.errors, progress.skipped, metrics, progress.elapsed_s,
        context.outputs.get("report"), failed, pairs, error_groups(metrics), sweep_warnings(metrics),
    )  # fmt: skip
    _log_outcome(run, progress.summary(out), describe_input(provenance["detector_input"], corrupt_rate))
    return run


def _log_outcome(run: SweepRun, summary: str, effective_input: str) -> None:
    """The summary line (with the effective input and retries), grouped failures and warnings."""
    retried = (run.metrics.get("coverage") or {}).get("pairs_retried")
    extra = f"; {retried} pairs retried alone" if retried else ""
    logger.info("%s; %s%s", summary, effective_input, extra)
    if run.failed:
        logger.warning("%d of %d pairs failed:", run.failed, run.pairs)
        for line in format_groups(run.failures):
            logger.warning("  %s", line)
    for warning in run.warnings:
        logger.warning("%s", warning)


def export_results(
    out: Path,
    rows: list[dict[str, Any]],
    cells: list[dict[str, Any]],
    codec_pair: list[str] | None,
    provenance: dict[str, Any],
    *,
    seed: int,
    n_bootstrap: int = 1000,
    reference: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``scores.csv`` and ``metrics.json`` (the data exporters) from the store's rows and cells; returns the metrics."""
    context = ExportContext(
        Path(out), rows, cells, codec_pair, provenance, seed=seed, n_bootstrap=n_bootstrap, reference=reference
    )
    run_exporters(context, exporters_for(report=False))
    return context.metrics or {}


def write_sweep_report(out: Path) -> Path | None:
    """Write the HTML report when the reports module is installed; log a warning when it is not."""
    return write_report_files(Path(out))


# -- resolving the inputs ---------------------------------------------------------------------
def resolve_grid(config: SweepConfig) -> Grid:
    """``config.grid`` as a ``Grid``, with ``config.grid_params`` applied to the cells that declare them."""
    if config.grid_params:
        return load_grid(config.grid, params=dict(config.grid_params))
    return load_grid(config.grid)


def resolve_corrupt_rate(value: str | int | None, detector: Any) -> int | None:
    """``"detector"`` -> the detector's input rate, ``"native"``/None -> None, Hz (int or digits) -> int.

    >>> resolve_corrupt_rate("native", None), resolve_corrupt_rate("44100", None)
    (None, 44100)
    """
    if value is None or value == "native":
        return None
    if value == "detector":
        rate = getattr(detector, "sample_rate", None)
        return int(rate) if rate else None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise ValueError(f"Expected --corrupt-rate native, detector or a rate in Hz (e.g. 16000), got {value!r}")


def resolve_dataset(config: SweepConfig) -> Any:
    """``config.data`` as a ``Dataset`` (a path or spec is loaded with ``load_dataset``)."""
    if hasattr(config.data, "clips"):
        return config.data
    from ..data import load_dataset

    return load_dataset(str(config.data), audio_dir=config.audio_dir, strict=config.strict, limit=config.limit, seed=config.seed)


def resolve_detector(config: SweepConfig) -> Any:
    """``config.detector`` as a ``Detector`` (a spec or card is loaded with ``load_detector``)."""
    if hasattr(config.detector, "score") and hasattr(config.detector, "describe"):
        return config.detector
    from ..detectors import load_detector

    overrides = dict(config.detector_overrides)
    return load_detector(
        config.detector, checkpoint=config.checkpoint, kwargs=overrides.pop("kwargs", None),
        input=overrides.pop("input", None) or None, output=overrides.pop("output", None) or None,
        name=overrides.pop("name", None), device=config.device, precision=config.precision,
        batch_size=config.batch_size, trust_checkpoint=config.trust_checkpoint,
    )  # fmt: skip


def _check_config(config: SweepConfig) -> None:
    if isinstance(config.batch_size, bool) or not isinstance(config.batch_size, int) or config.batch_size < 1:
        raise ValueError(f"Expected --batch-size >= 1, got {config.batch_size!r}")
    if isinstance(config.workers, bool) or not isinstance(config.workers, int) or config.workers < 0:
        raise ValueError(f"Expected --workers >= 0, got {config.workers!r}")
    if config.limit is not None and config.limit < 1:
        raise ValueError(f"Expected --limit >= 1, got {config.limit!r}")
    if config.engine not in ENGINES:
        raise ValueError(f"Expected --engine in {{{', '.join(ENGINES)}}}, got {config.engine!r}")
    if config.ray_address is not None and config.engine != "ray":
        raise ValueError(f"--ray-address {config.ray_address} applies to --engine ray only (got --engine {config.engine})")
    if config.engine == "ray":
        from .ray_engine import import_ray

        import_ray()  # fails now, with the pip command, rather than after the store is opened
    parse_size(config.cache_size)  # a bad --cache-size fails before the store is opened
    check_torch_threads(config.torch_threads)
    if config.torch_threads is not None and config.engine == "ray":
        raise ValueError("--torch-threads sets this process's threads; on --engine ray the scoring actors run elsewhere, so drop it")
    if config.reference is not None and not Path(config.reference).is_file():
        raise ValueError(f"--reference {config.reference}: file not found (give a metrics.json of a reference sweep)")


def _device_of(detector: Any, config: SweepConfig) -> torch.device:
    device = getattr(detector, "device", None)
    return torch.device(device) if device is not None else torch.device(config.device)
