"""Resume after SIGKILL, shard + merge, and the CLI's one-line errors."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner
from sweep_fixtures import DETECTOR_SPEC, write_dataset

from audiostress.cli import main

GRID = "cells:\n  - {corruption: low_pass, severities: [2, 5]}\n  - {corruption: gain, severity: 5}\n  - {corruption: mp3, severity: 3}\n"
#: Flags shared by every CLI sweep here (the detector card keys as flags).
DETECTOR_FLAGS = ["--detector", DETECTOR_SPEC, "--sample-rate", "16000", "--length", "8000", "--pad", "zero",
                  "--kind", "score", "--higher-is-fake", "--quiet", "--batch-size", "3"]
#: Rows the sweep must have committed before the kill, so the kill lands mid-sweep.
MIN_ROWS_BEFORE_KILL = 8


def sweep_args(data: Path, grid: Path, out: Path, *extra: str, card: Path | None = None) -> list[str]:
    flags = ["--detector", str(card), *DETECTOR_FLAGS[2:]] if card else DETECTOR_FLAGS
    return ["sweep", *flags, "--data", str(data), "--grid", str(grid), "--out", str(out), *extra]


def slow_card(tmp_path: Path) -> Path:
    """A detector card for the analytic detector sleeping 40 ms per batch (so a sweep can be killed midway)."""
    card = tmp_path / "slow.yaml"
    card.write_text(f"name: slow-highband\ndetector: {DETECTOR_SPEC}\nkwargs: {{delay_ms: 40}}\n")
    return card


#: metrics.json keys that measure time (detector latency), not results: they differ between runs by design.
TIMING_KEYS = ("latency", "latency_ms_per_audio_s")


def metric_values(out: Path) -> dict:
    """metrics.json without provenance and timing, which differ between runs that scored the same."""
    data = json.loads((out / "metrics.json").read_text())
    data.pop("provenance")
    for block in [data, data.get("clean") or {}, *(data.get("cells") or [])]:
        for key in TIMING_KEYS:
            block.pop(key, None)
    return data


def stored_pairs(out: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(str(out / "results.sqlite")) as conn:
        return [tuple(r) for r in conn.execute("SELECT clip_id, cell_id FROM scores")]


def test_sigkill_midway_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", n_per_class=12)
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID)
    card = slow_card(tmp_path)
    reference = tmp_path / "whole"
    assert CliRunner().invoke(main, sweep_args(data, grid, reference, card=card)).exit_code == 0

    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "audiostress.cli", *sweep_args(data, grid, killed, "--batch-size", "1", card=card)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    n = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if (killed / "results.sqlite").exists():
            try:
                n = len(stored_pairs(killed))
            except sqlite3.OperationalError:
                continue
            if n >= MIN_ROWS_BEFORE_KILL:
                break
    assert proc.poll() is None, "the sweep finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = len(stored_pairs(killed))
    assert MIN_ROWS_BEFORE_KILL <= partial < 24 * 5
    assert not (killed / "metrics.json").exists()

    # The batch size is part of the identity: the rerun resumes with the same one.
    result = CliRunner().invoke(main, sweep_args(data, grid, killed, "--batch-size", "1", card=card))
    assert result.exit_code == 0, result.output
    pairs = stored_pairs(killed)
    assert len(pairs) == len(set(pairs)) == 24 * 5  # nothing duplicated or missing
    assert metric_values(killed) == metric_values(reference)
    assert (killed / "scores.csv").read_bytes() == (reference / "scores.csv").read_bytes()


def test_shards_merged_equal_a_single_run(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", n_per_class=12)
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID)
    runner = CliRunner()
    assert runner.invoke(main, sweep_args(data, grid, tmp_path / "single")).exit_code == 0
    for i in (1, 2):
        res = runner.invoke(main, sweep_args(data, grid, tmp_path / f"s{i}", "--shard", f"{i}/2", "--batch-size", "5"))
        assert res.exit_code == 0, res.output
    sizes = [len(stored_pairs(tmp_path / f"s{i}")) for i in (1, 2)]
    assert sum(sizes) == 24 * 5 and min(sizes) > 0
    res = runner.invoke(main, ["merge", str(tmp_path / "merged"), *(str(tmp_path / f"s{i}") for i in (1, 2))])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "merged" / "scores.csv").read_bytes() == (tmp_path / "single" / "scores.csv").read_bytes()
    assert metric_values(tmp_path / "merged") == metric_values(tmp_path / "single")


def test_cli_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", n_per_class=2)
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID)
    runner = CliRunner()
    out = tmp_path / "run"
    assert runner.invoke(main, sweep_args(data, grid, out)).exit_code == 0
    res = runner.invoke(main, sweep_args(data, grid, out, "--seed", "5"))
    assert res.exit_code == 2
    lines = [line for line in res.output.splitlines() if line.startswith("audiostress: error:")]
    assert len(lines) == 1 and "seed (0 -> 5)" in lines[0] and "--out" in lines[0]
    res = runner.invoke(main, sweep_args(data, tmp_path / "nope.yaml", tmp_path / "x"))
    assert res.exit_code == 2 and "nope.yaml not found" in res.output
    res = runner.invoke(main, sweep_args(data, grid, tmp_path / "y", "--shard", "4/3"))
    assert res.exit_code == 2 and "shard" in res.output
    other = tmp_path / "other"
    assert runner.invoke(main, sweep_args(data, grid, other, "--seed", "1")).exit_code == 0
    res = runner.invoke(main, ["merge", str(tmp_path / "m"), str(out), str(other)])
    assert res.exit_code == 2 and "different configuration" in res.output and "seed (0 -> 1)" in res.output
