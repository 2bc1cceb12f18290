"""``audiostress.sweep``: run (or resume, or simply reopen) a sweep from Python and get a ``SweepResult``.

The arguments mirror ``audiostress sweep``. With ``out=None`` the sweep lives in
``<cache>/sweeps/<identity>`` (``$AUDIOSTRESS_CACHE`` or ``~/.cache/audiostress``),
where the identity is the same content hash that guards resuming: detector
(checkpoint and factory source by sha256), dataset clip set, grid and seed. The
same call again therefore returns the finished results at once, and an
interrupted one resumes.

With ``procs=N`` (or ``gpus=``) the plan runs as N shard processes that each get
the resolved configuration (the detector as its ``DetectorSpec``) on their stdin
and are merged into ``out``, as ``audiostress sweep --procs`` does; the scores
are byte-identical to one process.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ._paths import cache_root
from .results import RunStats, SweepResult, load_results

log = logging.getLogger("audiostress")

#: Keyword options of ``sweep`` beyond the named ones: name -> what it sets.
OPTIONS: dict[str, str] = {
    "precision": "fp32 | bf16 | fp16 autocast for the detector",
    "shard": "'I/N': score shard I of N (combine with merge)",
    "strict": "stop at the first bad row, clip or failure",
    "trust_checkpoint": "allow a full pickle checkpoint (runs code from the file)",
    "audio_dir": "audio folder of an ASVspoof protocol or manifest",
    "reference": "a reference detector's metrics.json for CE / relative CE",
    "report": "write report.html, summary.md and plots/ (default True)",
    "n_bootstrap": "bootstrap resamples for the confidence intervals (default 1000)",
    "progress": "draw a progress bar on stderr (default False; progress is logged at DEBUG)",
    "name": "detector display name (card key `name`)",
    "kwargs": "keyword arguments of a factory detector",
    "input": "detector input spec overrides (card `input:`)",
    "output": "detector output spec overrides (card `output:`)",
    "corrupt_rate": "'detector' (default: the detector's input rate), 'native' or Hz: the rate clips are corrupted at",
    "params": "{K: V} overrides for every grid cell whose corruption declares K (the CLI's --param)",
    "max_errors": "failed pairs accepted (N or 'P%'); beyond it TooManyErrorsError (default None: never raise)",
    "preflight": "check the detector contract and every cell before any pair is scored (default True)",
    "engine": "'local' (default) or 'ray': run the plan on a Ray cluster (pip install \"audiostress[ray]\")",
    "cache": "corrupted-audio cache folder: corrupt once, score many detectors (same scores; the CLI's --cache)",
    "cache_size": "bound of `cache` ('2G', '500M', bytes), least recently used entries evicted first (default unbounded)",
    "ray_address": "the Ray cluster of engine='ray' ('auto', 'host:6379', 'ray://host:10001'; default: a local one)",
    "keep_workers": "seconds the worker processes stay up after the sweep, for the next one in this process (default 60; 0: stop them)",
    "procs": "run the plan as N shard processes on this machine, merged into `out` (same scores; the CLI's --procs)",
    "gpus": "with device='cuda': pin the shard processes to these GPUs ('0,1,2,3' or a list; procs defaults to their count)",
    "torch_threads": "torch threads of this process during the sweep, restored after (default: as they are; scores may differ in their last bits between counts)",
}
_OVERRIDES = ("name", "kwargs", "input", "output")


def sweep(
    detector: str | os.PathLike[str] | Callable[..., Any] | Any,
    data: str | os.PathLike[str] | Any,
    grid: str | os.PathLike[str] | Any = "quick",
    *,
    out: str | os.PathLike[str] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    seed: int = 0,
    limit: int | None = None,
    workers: int = 1,
    batch_size: int = 16,
    device: str = "cpu",
    **options: Any,
) -> SweepResult:
    """Score ``detector`` on ``data`` under every cell of ``grid``; returns the typed results.

    ``detector``: a spec (``model.py:build``, ``pkg.mod:build``, ``torchscript:PATH``, ``onnx:PATH``,
    ``hf:DIR``), a detector card, a callable / ``nn.Module``, or a loaded ``Detector``.
    ``data``: a label-folder dataset, a CSV/JSONL manifest, an ASVspoof protocol or a ``Dataset``.
    ``grid``: a preset (``quick``, ``paper``, ``codecs``, ``asvspoof5``, ``full``) or a grid YAML.
    Further keyword options are listed in ``audiostress.api.OPTIONS``; an unknown one raises ``TypeError``.
    A sweep that cannot work raises before any pair is scored (``PreflightError``); another
    sweep on ``out`` raises ``SweepLockedError``; with ``max_errors`` set, too many failed
    pairs raise ``TooManyErrorsError`` (its ``run`` holds the written results).
    """
    from .runners.worker_start import prestart_for

    one_process = options.get("procs") in (None, 1) and not options.get("gpus")
    prestart_for(workers, engine=options.get("engine", "local"), one_process=one_process)  # before torch is imported
    from .runners.store import fingerprint_of
    from .runners.sweep import (
        SweepConfig,
        resolve_corrupt_rate,
        resolve_dataset,
        resolve_detector,
        resolve_grid,
        run_sweep,
        sweep_identity,
    )

    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(f"audiostress.sweep() got an unknown option {unknown[0]!r}; allowed: {', '.join(sorted(OPTIONS))}")
    procs, gpus = options.pop("procs", None), options.pop("gpus", None)
    overrides = {k: options.pop(k) for k in _OVERRIDES if k in options}
    options["grid_params"] = dict(options.pop("params", None) or {})
    config = SweepConfig(
        detector=detector, data=data, grid=grid, out=Path(out) if out is not None else Path("."),
        checkpoint=str(checkpoint) if checkpoint is not None else None, batch_size=batch_size, device=device,
        workers=workers, seed=seed, limit=limit, detector_overrides=overrides, **options,
    )  # fmt: skip
    # Resolve once here (the identity needs them), then hand the objects to the runner.
    config.grid, config.grid_params = resolve_grid(config), {}  # params applied once, here
    config.detector = resolve_detector(config)
    config.data = resolve_dataset(config)
    rate = resolve_corrupt_rate(config.corrupt_rate, config.detector)
    identity = sweep_identity(config.detector, config.data, config.grid, config.seed, corrupt_rate=rate)
    if out is None:
        config.out = cache_root() / "sweeps" / fingerprint_of(identity)[:20]
        log.info("sweep directory: %s", config.out)
    finished = _finished(config.out, fingerprint_of(identity))
    if finished is not None:
        log.info("sweep already complete in %s; returning its results", config.out)
        return finished
    launched = _launch_options(config, procs, gpus)
    if launched:
        run = _launch(config, **launched)
    else:
        run = run_sweep(config)
    stats = RunStats(run.n_scored, run.n_errors, run.n_skipped, run.elapsed_s, run.report)
    return SweepResult(Path(run.out_dir), load_results(run.out_dir).metrics, stats)


def _launch_options(config: Any, procs: Any, gpus: Any) -> dict[str, Any]:
    """``procs``/``gpus`` checked as the CLI checks them; {} for one process."""
    if procs is not None and (isinstance(procs, bool) or not isinstance(procs, int) or procs < 1):
        raise ValueError(f"Expected `procs` to be an integer >= 1, got {procs!r}")
    if not gpus and (procs is None or procs == 1):
        return {}
    if config.shard:
        raise ValueError(f"procs/gpus run every shard themselves; drop shard={config.shard!r}")
    if config.engine != "local":
        raise ValueError("procs/gpus start local shard processes; with engine='ray' the cluster spreads the work")
    if gpus and not str(config.device).startswith("cuda"):
        raise ValueError(f"gpus={gpus!r} pins the shard processes to GPUs; pass device='cuda'")
    return {"procs": procs, "gpus": gpus}


def _launch(config: Any, *, procs: int | None, gpus: Any) -> Any:
    """The shard processes of ``runners/launch.py`` with the resolved config on their stdin, merged into ``out``."""
    import json

    from .runners.launch import launch_sweep

    reference = json.loads(Path(config.reference).read_text(encoding="utf-8")) if config.reference else None
    return launch_sweep(
        [], config.out, procs=procs, gpus=gpus, total=len(config.data.clips) * len(config.grid.cells),
        progress=config.progress and not config.quiet, label=config.grid.name, max_errors=config.max_errors,
        report=config.report, n_bootstrap=config.n_bootstrap, reference=reference, config=config,
    )  # fmt: skip


def _finished(out: Path, fingerprint: str) -> SweepResult | None:
    """The results in ``out`` when they belong to this identity and every pair is scored; else ``None``."""
    if not (out / "metrics.json").is_file():
        return None
    from .runners.store import STORE_NAME, Store, fingerprint_of

    if not (out / STORE_NAME).is_file():
        return None
    with Store(out / STORE_NAME) as store:
        config = store.config()
    if config is None or fingerprint_of(config) != fingerprint:
        return None
    result = load_results(out)
    coverage: Mapping[str, Any] = result.coverage
    complete = coverage.get("pairs_missing") == 0 and coverage.get("pairs_failed") == 0
    if not complete or result.provenance.get("run", {}).get("shard"):
        return None
    return result
