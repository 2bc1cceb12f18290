"""``audiostress check`` and ``audiostress baseline``: the robustness gates without pytest.

Two standalone click commands; ``cli.py`` registers them with ``main.add_command``.

- ``audiostress check RUN_DIR --gate EXPR [--gate EXPR ...] [--baseline FILE] [--ci MODE] [--min-n N]``
  prints the gate table (Markdown) and, on failure, each failure's evidence.
  Exit 0 when every gate passes, 1 when any fails, 2 for a usage error.
- ``audiostress baseline RUN_DIR -o FILE`` writes a baseline from a finished sweep.
"""

from __future__ import annotations

import sys
import warnings

import click

__all__ = ["baseline_cmd", "check_cmd"]

#: Exit codes of ``audiostress check``.
EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


@click.command("check")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--gate", "gates", multiple=True, required=True, metavar="EXPR",
              help="A gate, e.g. 'delta_eer[mp3@*] <= 0.05' or 'codec_pair.mean <= 0.15' (repeatable).")
@click.option("--baseline", default=None, metavar="FILE",
              help="A baseline file (audiostress baseline) or a sweep directory, for 'baseline ± X' gates.")
@click.option("--ci", "ci", default="point", show_default=True, type=click.Choice(["point", "strict", "lenient"]),
              help="point: judge the estimate; strict: the whole 95% CI must pass; lenient: fail only when the whole CI fails.")
@click.option("--min-n", "min_n", default=None, type=int, help="Fewest clips a cell needs to be judged (default 30).")
def check_cmd(run_dir: str, gates: tuple[str, ...], baseline: str | None, ci: str, min_n: int | None) -> None:
    """Judge gates on the sweep in RUN_DIR: exit 0 if all pass, 1 if any fails, 2 for a usage error."""  # fmt: skip
    from pathlib import Path

    from .results import ResultsError, load_results
    from .testing.baseline import Baseline, BaselineError
    from .testing.gates import GateFailure, check
    from .testing.grammar import GateError

    try:
        result = load_results(run_dir)
        base: Baseline | None = None
        if baseline is not None:
            base = Baseline.from_result(load_results(baseline)) if Path(baseline).is_dir() else Baseline.load(baseline)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                report = check(result, *gates, ci=ci, baseline=base, min_n=min_n)
            except GateFailure as failure:
                click.echo(failure.report.table())
                click.echo("")
                click.echo(str(failure))
                sys.exit(EXIT_FAIL)
    except (GateError, ResultsError, BaselineError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(report.table())
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    click.echo(f"\nall {len({t.gate.text for t in report.targets})} gates passed (ci={ci}) on {result.out_dir}")


@click.command("baseline")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("-o", "--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write the baseline JSON.")
def baseline_cmd(run_dir: str, out: str) -> None:
    """Write a baseline (identity, metrics, environment, commit, per-clip scores) from the sweep in RUN_DIR."""
    from .results import ResultsError, load_results
    from .testing.baseline import Baseline

    try:
        written = Baseline.from_result(load_results(run_dir)).write(out)
    except (ResultsError, OSError, ValueError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"wrote {written}")
