"""The ``audiostress`` command line: each command parses options and calls one library function."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from ._version import __version__

#: The library logs here; the CLI is the one place that turns those records into lines on stderr.
LOGGER = "audiostress"


class UserError(click.ClickException):
    """One clear line on stderr and exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"audiostress: error: {self.format_message()}", err=True)


def fail(exc: BaseException) -> UserError:
    return UserError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


class _StderrHandler(logging.Handler):
    """Library log records as ``audiostress sweep: [warning: ]message`` lines on stderr (prefix from the logger name)."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        level = "" if record.levelno < logging.WARNING else f"{record.levelname.lower()}: "
        prefix = "" if message.startswith("audiostress") else record.name.replace(".", " ") + ": "
        click.echo(f"{prefix}{level}{message}", err=True)


def configure_logging(*, quiet: bool = False, verbose: bool = False) -> None:
    """INFO and up on stderr; ``quiet``: nothing (errors still exit non-zero with one line); ``verbose``: DEBUG too."""
    logger = logging.getLogger(LOGGER)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
    logger.setLevel(logging.CRITICAL + 1 if quiet else logging.DEBUG if verbose else logging.INFO)


def _restore_logging(level: int) -> None:
    """Undo ``configure_logging`` when a command ends (the CLI may run inside another program or a test)."""
    logger = logging.getLogger(LOGGER)
    for handler in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(handler)
    logger.setLevel(level)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="audiostress")
@click.option("-v", "--verbose", is_flag=True, help="Also show debug messages (progress every few seconds, each replayed pair).")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Stress-test audio deepfake detectors against corruptions and codecs."""
    ctx.call_on_close(lambda level=logging.getLogger(LOGGER).level: _restore_logging(level))
    configure_logging(verbose=verbose)


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--detectors", "detectors", is_flag=True, help="Show the detector card schema and loader specs instead.")
def list_cmd(as_json: bool, detectors: bool) -> None:
    """List every corruption with its parameters, units and severity tables."""
    from .listing import describe_corruptions, describe_detectors, format_corruptions, format_detectors

    if detectors:
        schema = describe_detectors()
        click.echo(json.dumps(schema, indent=2) if as_json else format_detectors(schema))
        return
    entries = describe_corruptions()
    click.echo(json.dumps(entries, indent=2, default=str) if as_json else format_corruptions(entries))


@main.command("corrupt")
@click.argument("src", type=click.Path(dir_okay=False))
@click.argument("dst", type=click.Path(dir_okay=False))
@click.option("-c", "--corruption", "name", required=True, help="Corruption name (see `audiostress list`).")
@click.option("-s", "--severity", type=int, default=None, help="Severity 0..5 (0 = clean).")
@click.option("--table", default=None, help="Named severity table (default: the corruption's main table).")
@click.option("--param", "params", multiple=True, metavar="K=V", help="Parameter value; repeatable. `a..b` samples a range, `a|b` a choice.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for random draws.")
def corrupt_cmd(src: str, dst: str, name: str, severity: int | None, table: str | None, params: tuple[str, ...], seed: int) -> None:
    """Write SRC corrupted by one corruption to DST (WAV or FLAC) for listening."""
    from .audio import AudioError
    from .corrupt_file import corrupt_file

    try:
        parsed = parse_params(params)
        node, path = corrupt_file(src, dst, name, severity=severity, params=parsed, table=table, seed=seed)
    except (ValueError, TypeError, AudioError, RuntimeError) as exc:
        raise fail(exc) from exc
    click.echo(f"wrote {path} ({node.label()} {json.dumps(node.to_dict().get('params', {}))})")


def parse_params(items: tuple[str, ...]) -> dict[str, Any]:
    """``("snr_db=10", "color=pink")`` -> ``{"snr_db": 10, "color": "pink"}``."""
    from .corruptions import parse_cli_value

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"Expected --param as KEY=VALUE, got {item!r}")
        out[key.strip()] = parse_cli_value(value)
    return out


# -- commands added by later parts: sweep, merge, report, demo ---------------------------


@main.command("report")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--out", default=None, type=click.Path(file_okay=False), help="Output folder (required for several DIRs; default: the one DIR).")
@click.option("--reference", default=None, type=click.Path(exists=True), metavar="DIR|METRICS.json",
              help="A reference detector's sweep (or its metrics.json) for ImageNet-C CE, relative CE and mCE.")
def report_cmd(dirs: tuple[str, ...], out: str | None, reference: str | None) -> None:
    """Write report.html, summary.md and plots/ for one sweep DIR, or compare several detectors."""
    from .reports import ReportError, write_report

    try:
        path = write_report(list(dirs), out, reference=_read_reference(reference))
    except (ReportError, OSError) as exc:
        raise fail(exc) from exc
    click.echo(f"report: {path}")


def _read_reference(reference: str | None) -> dict[str, Any] | None:
    """A reference sweep directory or metrics.json as the metrics dict, with a clear error for anything else."""
    if reference is None:
        return None
    from pathlib import Path

    path = Path(reference)
    path = path / "metrics.json" if path.is_dir() else path
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"--reference {reference}: cannot read {path} as a metrics.json ({exc})") from exc
    if not isinstance(data, dict) or "cells" not in data:
        raise UserError(f"--reference {reference}: {path} is not an audiostress metrics.json (no `cells`)")
    return data


@main.command("demo")
@click.option("--out", default="audiostress-demo", show_default=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--quiet", is_flag=True, help="Only print where the report is.")
def demo_cmd(out: str, quiet: bool) -> None:
    """Run the whole pipeline on a generated dataset with a built-in baseline detector (nothing downloaded)."""
    from .demo import run_demo

    configure_logging(quiet=quiet)
    try:
        path = run_demo(out, quiet=quiet)
    except (ValueError, RuntimeError, OSError) as exc:
        raise fail(exc) from exc
    click.echo(f"report: {path.resolve()}" if quiet else f"audiostress demo: report at {path.resolve()}")


def _trust_help() -> str:
    from ._trust import TRUST_CHECKPOINT_HELP

    return TRUST_CHECKPOINT_HELP


@main.command("sweep")
@click.option("--detector", required=True, metavar="SPEC|CARD.yaml", help="model.py:build, pkg.mod:build, torchscript:PATH, onnx:PATH, hf:DIR or a detector card.")
@click.option("--checkpoint", default=None, metavar="PATH", help="Weights for the detector (a state dict unless --trust-checkpoint).")
@click.option("--data", required=True, metavar="DATASET", help="Folder with label subfolders, CSV/JSONL manifest or ASVspoof protocol file.")
@click.option("--audio-dir", default=None, metavar="DIR", help="Audio folder of an ASVspoof protocol.")
@click.option("--grid", default="quick", show_default=True, metavar="PRESET|GRID.yaml", help="quick, paper, codecs, asvspoof5, full or a grid YAML file.")
@click.option("--out", default="runs/sweep", show_default=True, type=click.Path(file_okay=False), help="Sweep directory; re-running with the same --out resumes.")
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1), help="Most detector windows per forward. Each (clip group, cell) is one detector call, so scores are bit-identical across batch sizes at least the windows of one group (about 8 clips); a smaller size splits the call into forwards and may change the last bits.")
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda (torch corruptions run batched there too).")
@click.option("--precision", default="fp32", show_default=True, type=click.Choice(["fp32", "bf16", "fp16"]))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=0), help="CPU worker processes for codecs (0/1 = in-process).")
@click.option("--torch-threads", default=None, type=click.IntRange(min=1), help="Torch threads of the sweep process (default: torch's own, one per core). With --workers on a small CPU machine, cores minus workers is usually faster; scores may differ in their last bits between counts.")
@click.option("--seed", default=0, show_default=True, type=int, help="Sweep seed; each (clip, cell) seed derives from it.")
@click.option("--limit", default=None, type=click.IntRange(min=1), help="Stratified, seeded subset of N clips (part of the sweep's identity: resuming with another limit is refused).")
@click.option("--shard", default=None, metavar="I/N", help="Process shard I of N (combine with `audiostress merge`). Shards take whole clip groups of about 8 clips; a shard left without a group warns and writes no rows.")
@click.option("--strict", is_flag=True, help="Stop at the first bad row, clip or failure instead of recording it.")
@click.option("--quiet", is_flag=True, help="Silent: no progress bar, notes or summary; the exit code tells the outcome.")
@click.option("--trust-checkpoint", is_flag=True, help=_trust_help())
@click.option("--reference", default=None, type=click.Path(dir_okay=False), metavar="METRICS.json", help="A reference detector's metrics.json for CE / relative CE.")
@click.option("--name", default=None, help="Detector name in reports (card key `name`).")
@click.option("--sample-rate", type=click.IntRange(min=1), default=None, help="Card input.sample_rate.")
@click.option("--length", type=click.IntRange(min=1), default=None, help="Card input.length (samples).")
@click.option("--pad", type=click.Choice(["repeat", "zero"]), default=None, help="Card input.pad.")
@click.option("--crop", type=click.Choice(["first", "center", "random", "windows"]), default=None, help="Card input.crop.")
@click.option("--hop", type=click.IntRange(min=1), default=None, help="Card input.hop (samples, windows crop).")
@click.option("--aggregate", type=click.Choice(["mean", "max"]), default=None, help="Card input.aggregate over windows.")
@click.option("--kind", type=click.Choice(["logits", "probs", "score"]), default=None, help="Card output.kind.")
@click.option("--fake-index", type=click.IntRange(min=0), default=None, help="Card output.fake_index.")
@click.option("--higher-is-fake/--lower-is-fake", "higher_is_fake", default=None, help="Card output.higher_is_fake for a single score.")
@click.option("--select", type=click.IntRange(min=0), default=None, help="Card output.select: element of a tuple output.")
@click.option("--corrupt-rate", default="detector", show_default=True, metavar="native|detector|HZ", help="Rate every clip is resampled to before corrupting: the detector's input rate, each file's native rate, or a rate in Hz (e.g. 44100 for music).")
@click.option("--param", "params", multiple=True, metavar="K=V", help="Override parameter K of every grid cell whose corruption declares it (e.g. noise_dir=noises/); repeatable.")
@click.option("--max-errors", default="0", show_default=True, metavar="N|P%", help="Failed pairs accepted before the exit code is 1: a count or a share of the pairs.")
@click.option("--procs", default=None, type=click.IntRange(min=1), help="Run the plan as N shard processes on this machine (OUT/shards/I), merged into OUT at the end; same scores as one process.")
@click.option("--gpus", default=None, metavar="LIST", help="With --device cuda: pin the shard processes to these GPUs (e.g. 0,1,2,3; CUDA_VISIBLE_DEVICES); --procs defaults to their count.")
@click.option("--engine", default="local", show_default=True, type=click.Choice(["local", "ray"]), help="local: this machine; ray: a Ray cluster (pip install \"audiostress[ray]\").")
@click.option("--ray-address", default=None, metavar="ADDR", help="The Ray cluster of --engine ray (auto, HOST:6379, ray://HOST:10001); default: a local cluster.")
@click.option("--cache", default=None, type=click.Path(file_okay=False), metavar="DIR", help="Corrupted-audio cache: store each corrupted clip in DIR and reuse it, so another detector over the same data and grid does no codec work (same scores). Shareable: point several sweeps or users at one DIR.")
@click.option("--cache-size", default=None, metavar="SIZE", help="Bound of --cache (e.g. 2G, 500M); least recently used entries are evicted first. Default: unbounded.")
@click.option("--no-report", "no_report", is_flag=True, hidden=True, help="Write scores.csv and metrics.json only (the shards of --procs).")
def sweep_cmd(**opts: Any) -> None:
    """Score a detector on a dataset under every cell of a severity grid.

    Exit codes: 0 every pair scored (or failures within --max-errors), 1 the sweep
    finished with more failures, 2 refused or aborted (usage, configuration,
    preflight, another sweep on --out, store errors).
    """
    launch = _launch_options(opts)
    from .runners.worker_start import prestart_for

    prestart_for(opts["workers"], engine=opts["engine"], one_process=not launch)  # before torch is imported here
    from .runners.sweep import SweepConfig, TooManyErrorsError, run_sweep

    inputs = {k: opts.pop(k) for k in ("sample_rate", "length", "pad", "crop", "hop", "aggregate")}
    outputs = {k: opts.pop(k) for k in ("kind", "fake_index", "higher_is_fake", "select")}
    overrides = {
        "input": {k: v for k, v in inputs.items() if v is not None},
        "output": {k: v for k, v in outputs.items() if v is not None},
        "name": opts.pop("name"),
    }
    from pathlib import Path

    configure_logging(quiet=opts["quiet"])
    try:
        grid_params = parse_params(opts["params"])
        config = SweepConfig(
            detector=opts["detector"], checkpoint=opts["checkpoint"], data=opts["data"], audio_dir=opts["audio_dir"],
            grid=opts["grid"], out=Path(opts["out"]), batch_size=opts["batch_size"], device=opts["device"],
            precision=opts["precision"], workers=opts["workers"], seed=opts["seed"], limit=opts["limit"],
            shard=opts["shard"], strict=opts["strict"], quiet=opts["quiet"], trust_checkpoint=opts["trust_checkpoint"],
            detector_overrides=overrides, reference=opts["reference"], progress=not opts["quiet"],
            corrupt_rate=opts["corrupt_rate"], grid_params=grid_params, max_errors=opts["max_errors"],
            engine=opts["engine"], ray_address=opts["ray_address"], report=not opts["no_report"],
            cache=opts["cache"], cache_size=opts["cache_size"], torch_threads=opts["torch_threads"],
        )  # fmt: skip
        result = _launch(config, **launch) if launch else run_sweep(config)
    except TooManyErrorsError as exc:
        if exc.run.report is not None and not opts["quiet"]:
            click.echo(f"report: {exc.run.report}")
        click.echo(f"audiostress: {exc}", err=True)
        raise click.exceptions.Exit(1) from exc
    except (ValueError, TypeError, RuntimeError, OSError) as exc:
        raise fail(exc) from exc
    if result.report is not None and not opts["quiet"]:
        click.echo(f"report: {result.report}")


#: Sweep options the launcher sets itself for each shard process (``runners/launch.py``).
_LAUNCHER_OWNS = ("out", "shard", "procs", "gpus", "max_errors", "quiet", "no_report")


def _launch_options(opts: dict[str, Any]) -> dict[str, Any]:
    """Pop --procs/--gpus; with either (beyond one process) return the launcher's arguments, else {}."""
    procs, gpus = opts.pop("procs"), opts.pop("gpus")
    if not gpus and (procs is None or procs == 1):
        return {}
    if opts["shard"]:
        raise UserError(f"--procs/--gpus run every shard themselves; drop --shard {opts['shard']}")
    if opts["engine"] != "local":
        raise UserError("--procs/--gpus start local shard processes; with --engine ray the cluster spreads the work")
    if gpus and not str(opts["device"]).startswith("cuda"):
        raise UserError(f"--gpus {gpus} pins the shard processes to GPUs; add --device cuda")
    return {"procs": procs, "gpus": gpus, "sweep_args": _replay_args(click.get_current_context(), _LAUNCHER_OWNS)}


def _replay_args(ctx: click.Context, skip: tuple[str, ...]) -> list[str]:
    """The command's arguments as an argument list again (options left at their defaults left out)."""
    args: list[str] = []
    for param in ctx.command.params:
        name = param.name or ""
        value = ctx.params.get(name)
        if name in skip or not isinstance(param, click.Option) or value is None or value == param.default:
            continue
        if param.is_flag and param.secondary_opts:
            args.append(param.opts[0] if value else param.secondary_opts[0])
        elif param.is_flag:
            args += [param.opts[0]] if value else []
        else:
            for item in value if param.multiple else [value]:
                args += [param.opts[0], str(item)]
    return args


def _launch(config: Any, *, procs: int | None, gpus: str | None, sweep_args: list[str]) -> Any:
    """``--procs``/``--gpus``: the shard processes of ``runners/launch.py``, one bar, merged into --out."""
    from .runners.launch import launch_sweep
    from .runners.sweep import resolve_dataset, resolve_grid

    grid = resolve_grid(config)
    total = len(resolve_dataset(config).clips) * len(grid.cells)
    reference = json.loads(open(config.reference, encoding="utf-8").read()) if config.reference else None
    return launch_sweep(
        sweep_args, config.out, procs=procs, gpus=gpus, total=total, progress=config.progress and not config.quiet,
        label=grid.name, max_errors=config.max_errors, report=config.report, reference=reference,
    )  # fmt: skip


@main.command("replay")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--clip-id", required=True, help="The clip's id, as in scores.csv.")
@click.option("--cell-id", required=True, help="The cell's id, as in scores.csv (e.g. mp3@3, clean).")
@click.option("-o", "--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write the float32 WAV.")
@click.option("--data", default=None, metavar="DATASET", help="The dataset's current place, if it moved since the sweep.")
@click.option("--audio-dir", default=None, metavar="DIR", help="Audio folder of an ASVspoof protocol (with --data).")
def replay_cmd(run_dir: str, clip_id: str, cell_id: str, out: str, data: str | None, audio_dir: str | None) -> None:
    """Write the exact audio the sweep in RUN_DIR scored for one (clip, cell) pair, at the corruption's rate."""
    from .audio import AudioError
    from .replay import ReplayError, replay_pair

    try:
        audio, sample_rate = replay_pair(run_dir, clip_id, cell_id, out=out, data=data, audio_dir=audio_dir)
    except (ReplayError, AudioError, ValueError, RuntimeError, OSError) as exc:
        raise fail(exc) from exc
    seconds = audio.shape[-1] / sample_rate
    click.echo(f"wrote {out} ({clip_id} / {cell_id}: {audio.shape[0]} ch, {seconds:.2f} s at {sample_rate} Hz, float32)")


@main.command("merge")
@click.argument("out", type=click.Path(file_okay=False))
@click.argument("shard_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
def merge_cmd(out: str, shard_dirs: tuple[str, ...]) -> None:
    """Combine the sweep directories of `sweep --shard I/N` runs into OUT (locked like a sweep)."""
    from .runners.lock import SweepLock
    from .runners.merge import merge_sweeps

    try:
        with SweepLock(out):
            merge_sweeps(out, shard_dirs)
    except (ValueError, RuntimeError, OSError) as exc:
        raise fail(exc) from exc


def _register_command_groups() -> None:
    """Commands that live in their own modules (gates, augmentation cache) join the group here."""
    from .cli_cache import cache
    from .cli_gates import baseline_cmd, check_cmd

    main.add_command(check_cmd)
    main.add_command(baseline_cmd)
    main.add_command(cache)


_register_command_groups()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
