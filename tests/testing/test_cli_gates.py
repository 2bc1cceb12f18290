"""`audiostress check` and `audiostress baseline` (the commands in a tiny click group built here): exit codes
0 / 1 / 2, the printed table, and a baseline file that `check --baseline` then compares against."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner
from gate_fixtures import write_sweep

from audiostress.cli_gates import baseline_cmd, check_cmd


@click.group()
def cli() -> None:
    """Stand-in for the audiostress group."""


cli.add_command(check_cmd)
cli.add_command(baseline_cmd)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_runs")
    return write_sweep(root / "good"), write_sweep(root / "worse", shift={"clean": 0.9})


def test_check_passes_with_exit_0_and_prints_the_table(runs):
    result = CliRunner().invoke(cli, ["check", str(runs[0]), "--gate", "eer[clean] <= 0.2", "--gate", "coverage.fraction_scored >= 1"])
    assert result.exit_code == 0, result.output
    assert "| `eer[clean] <= 0.2` | clean | 0.0750 | [0.0250, 0.1500] | 80 | — | pass |" in result.output
    assert "| `coverage.fraction_scored >= 1` | (sweep) | 1.0000 | n/a | 80 | — | pass |" in result.output
    assert "all 2 gates passed (ci=point)" in result.output


def test_check_fails_with_exit_1_and_the_evidence(runs):
    result = CliRunner().invoke(cli, ["check", str(runs[0]), "--gate", "delta_eer[mp3@*] <= 0.1", "--ci", "strict"])
    assert result.exit_code == 1
    assert "| `delta_eer[mp3@*] <= 0.1` | mp3@5 | 0.2000 |" in result.output and "**FAIL**" in result.output
    assert "1 of 1 gates failed (ci=strict, min_n=30)" in result.output
    assert "replay the worst: audiostress replay" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gate", "eerr <= 1"], "unknown metric 'eerr'"),
        (["--gate", "eer[clean] = 1"], "Malformed gate"),
        (["--gate", "eer[clean] <= baseline"], "compares with a baseline"),
        (["--gate", "eer <= 1", "--ci", "loose"], "Invalid value for '--ci'"),
    ],
)
def test_usage_errors_exit_2(runs, args, message):
    result = CliRunner().invoke(cli, ["check", str(runs[0]), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_missing_run_dir_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "nope"), "--gate", "eer <= 1"])
    assert result.exit_code == 2 and "not a sweep directory" in result.output


def test_baseline_command_then_paired_check(runs, tmp_path):
    out = tmp_path / "base.json"
    written = CliRunner().invoke(cli, ["baseline", str(runs[0]), "-o", str(out)])
    assert written.exit_code == 0 and f"wrote {out}" in written.output
    assert json.loads(out.read_text())["identity"]["grid"]["cells"] == ["clean", "mp3@1", "mp3@5", "opus@2"]
    same = CliRunner().invoke(cli, ["check", str(runs[0]), "--gate", "eer[clean] <= baseline + 0.02", "--baseline", str(out)])
    assert same.exit_code == 0, same.output
    assert "| `eer[clean] <= baseline + 0.02` | clean | 0.0750 (+0.0000) | [+0.0000, +0.0000] | 80 | 0.0750 | pass |" in same.output
    worse = CliRunner().invoke(cli, ["check", str(runs[1]), "--gate", "eer[clean] <= baseline + 0.02", "--baseline", str(out)])
    assert worse.exit_code == 1 and "80 common clips, paired" in worse.output
