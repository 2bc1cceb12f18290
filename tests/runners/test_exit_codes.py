"""Issue 10, 2b/2d/5b/5c: exit codes 0 / 1 / 2, --max-errors, grouped failures, the inverted-output warning, --param.

0: every pair scored (or the failures are within --max-errors); 1: the sweep
finished but more pairs failed; 2: refused (usage, configuration, preflight).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from sweep_fixtures import DETECTOR_SPEC, SR, write_dataset

from audiostress.cli import main
from audiostress.runners.outcome import group_errors, parse_max_errors, sweep_warnings

GRID = "cells:\n  - {corruption: gain, severity: 3}\n"
ANALYTIC = ["--detector", DETECTOR_SPEC, "--length", "8000", "--pad", "zero", "--kind", "score"]
#: A factory that fails on clips of exactly SHORT samples (whole clips: length null).
PICKY = """
import torch

SHORT = {short}


class Picky(torch.nn.Module):
    def forward(self, x):
        if x.shape[-1] == SHORT:
            raise RuntimeError("clip too short for this model")
        return x.pow(2).mean(dim=1)


def build():
    return Picky()
"""
SHORT = 3000
N_SHORT = 3


def run(tmp_path: Path, data: Path, *args: str, grid: str = GRID, out: str = "out"):
    (tmp_path / "grid.yaml").write_text(grid)
    return CliRunner().invoke(main, ["sweep", "--data", str(data), "--grid", str(tmp_path / "grid.yaml"),
                                     "--out", str(tmp_path / out), *args])  # fmt: skip


@pytest.fixture()
def picky_data(tmp_path: Path) -> tuple[Path, str]:
    """12 good clips plus N_SHORT short spoof clips (last in dataset order) that the picky model rejects."""
    root = write_dataset(tmp_path / "data")
    for i in range(N_SHORT):
        sf.write(str(root / "spoof" / f"zz_short_{i}.wav"), np.full(SHORT, 0.1, np.float32), SR, subtype="FLOAT")
    (tmp_path / "picky.py").write_text(PICKY.format(short=SHORT))
    return root, f"{tmp_path / 'picky.py'}:build"


def test_exit_0_when_every_pair_is_scored(tmp_path: Path, dataset_dir: Path) -> None:
    result = run(tmp_path, dataset_dir, *ANALYTIC, "--higher-is-fake")
    assert result.exit_code == 0, result.output
    assert "input 16000 Hz, 8000 samples, crop first, pad zero, 1 window/clip; corrupt at 16000 Hz" in result.output
    assert "failed" not in result.output and "warning" not in result.output


def test_exit_1_when_pairs_fail_with_the_failures_grouped(tmp_path: Path, picky_data) -> None:
    data, spec = picky_data
    result = run(tmp_path, data, "--detector", spec, "--kind", "score", "--higher-is-fake")
    assert result.exit_code == 1, result.output
    assert f"{2 * N_SHORT} of {2 * (12 + N_SHORT)} pairs failed" in result.output
    groups = [line.split("warning:", 1)[1].strip() for line in result.output.splitlines()
              if "clip too short for this model" in line and "warning:" in line]
    assert sum(int(g.split(" x ", 1)[0]) for g in groups) == 2 * N_SHORT  # grouped by message, with counts
    assert all("cells clean, gain@3; clips spoof/zz_short_" in g for g in groups), groups
    assert "more than --max-errors 0" in result.output
    rows = list(csv.DictReader((tmp_path / "out" / "scores.csv").open()))
    assert sum(1 for r in rows if r["error"]) == 2 * N_SHORT and len(rows) == 2 * (12 + N_SHORT)  # work is kept


@pytest.mark.parametrize(("limit", "code"), [("6", 0), ("5", 1), ("20%", 0), ("19%", 1)])
def test_max_errors_accepts_a_count_or_a_share(tmp_path: Path, picky_data, limit: str, code: int) -> None:
    data, spec = picky_data  # 6 of 30 pairs fail: 20 %
    result = run(tmp_path, data, "--detector", spec, "--kind", "score", "--higher-is-fake", "--max-errors", limit)
    assert result.exit_code == code, result.output
    assert "6 of 30 pairs failed" in result.output  # listed either way


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--max-errors", "lots"], "Expected --max-errors as a count N (e.g. 10) or a share P%"),
        (["--max-errors", "150%"], "share P% in 0..100%"),
        (["--corrupt-rate", "fast"], "Expected --corrupt-rate native, detector or a rate in Hz"),
        (["--shard", "1/0"], "Expected the shard count N >= 1 in --shard I/N, got '1/0'"),
        (["--param", "noise_dir"], "Expected --param as KEY=VALUE"),
    ],
)
def test_exit_2_for_usage_and_configuration_errors(tmp_path: Path, dataset_dir: Path, args, needle) -> None:
    result = run(tmp_path, dataset_dir, *ANALYTIC, "--higher-is-fake", *args)
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out" / "results.sqlite").exists()


def test_exit_2_for_a_missing_dataset(tmp_path: Path) -> None:
    result = run(tmp_path, tmp_path / "nowhere", *ANALYTIC, "--higher-is-fake")
    assert result.exit_code == 2 and result.output.startswith("audiostress: error:")


def test_an_inverted_detector_is_warned_about(tmp_path: Path, dataset_dir: Path) -> None:
    result = run(tmp_path, dataset_dir, *ANALYTIC, "--lower-is-fake")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "warning:" in line and "AUROC" in line]
    assert len(warnings) == 1 and "inverted" in warnings[0], result.output


def test_the_cli_warning_exists_without_the_metrics_warning() -> None:
    metrics = {"clean": {"auroc": 0.1}}
    assert len(sweep_warnings(metrics)) == 1 and "0.100" in sweep_warnings(metrics)[0]
    assert sweep_warnings({"clean": {"auroc": 0.1}, "warnings": ["clean AUROC 0.1 < 0.5: inverted?"]}) == [
        "clean AUROC 0.1 < 0.5: inverted?"
    ]
    assert sweep_warnings({"clean": {"auroc": 0.9}}) == []


def test_the_fallback_grouping_matches_the_summary_shape() -> None:
    errors = [{"clip_id": f"c{i}", "cell_id": "mp3@1", "error": "boom"} for i in range(7)]
    errors.append({"clip_id": "d", "cell_id": "clean", "error": "other"})
    groups = group_errors(errors)
    assert groups[0] == {"error": "boom", "count": 7, "cells": ["mp3@1"], "clip_ids": ["c0", "c1", "c2", "c3", "c4"]}
    assert groups[1]["count"] == 1
    assert parse_max_errors("0") == ("count", 0)


def test_param_noise_dir_reaches_the_grid(tmp_path: Path, dataset_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README and the paper preset tell users `--param noise_dir=...`; it must work."""
    monkeypatch.delenv("AUDIOSTRESS_NOISE_DIR", raising=False)
    noises = tmp_path / "noises"
    noises.mkdir()
    rng = np.random.default_rng(1)
    sf.write(str(noises / "hum.wav"), (rng.standard_normal(SR) * 0.1).astype(np.float32), SR, subtype="FLOAT")
    grid = "cells:\n  - {corruption: background_noise, severity: 3, optional: true}\n"
    dropped = run(tmp_path, dataset_dir, *ANALYTIC, "--higher-is-fake", grid=grid, out="without")
    assert dropped.exit_code == 0, dropped.output
    assert "background_noise" not in {r["cell_id"].split("@")[0] for r in csv.DictReader((tmp_path / "without" / "scores.csv").open())}
    result = run(tmp_path, dataset_dir, *ANALYTIC, "--higher-is-fake", "--param", f"noise_dir={noises}", grid=grid)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "out" / "scores.csv").open()))
    assert sum(1 for r in rows if r["cell_id"].startswith("background_noise@3") and not r["error"]) == 12
    unknown = run(tmp_path, dataset_dir, *ANALYTIC, "--higher-is-fake", "--param", "no_such_knob=1", out="unknown")
    assert unknown.exit_code == 2 and "no_such_knob" in unknown.output
