"""--procs N / --gpus: shard processes of one plan, merged into what one process writes; SIGTERM stops them all and resumes."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from sweep_fixtures import DETECTOR_SPEC

from audiostress.cli import main
from audiostress.runners.launch import parse_gpus, shard_command, shard_dir, shard_env
from audiostress.runners.lock import SweepLock

#: A device cell and a codec cell (plus clean): 12 clips in 2 groups, one per shard.
GRID = "cells:\n  - {corruption: low_pass, severity: 3}\n  - {corruption: mp3, severity: 3}\n"
FLAGS = ["--sample-rate", "16000", "--length", "8000", "--pad", "zero", "--kind", "score", "--higher-is-fake", "--batch-size", "3"]


def sweep_args(detector: str, data: Path, grid: Path, out: Path, *extra: str) -> list[str]:
    return ["sweep", "--detector", detector, *FLAGS, "--data", str(data), "--grid", str(grid), "--out", str(out), *extra]


def pairs(store: Path) -> Counter:
    with sqlite3.connect(str(store)) as conn:
        return Counter((a, b) for a, b in conn.execute("SELECT clip_id, cell_id FROM scores"))


@pytest.fixture()
def grid(tmp_path: Path) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(GRID)
    return path


def test_procs_2_writes_the_bytes_of_one_process(dataset_dir: Path, grid: Path, tmp_path: Path) -> None:
    one = CliRunner().invoke(main, sweep_args(DETECTOR_SPEC, dataset_dir, grid, tmp_path / "one", "--quiet"))
    assert one.exit_code == 0, one.output
    two = CliRunner().invoke(main, sweep_args(DETECTOR_SPEC, dataset_dir, grid, tmp_path / "two", "--procs", "2", "--quiet"))
    assert two.exit_code == 0, two.output
    assert (tmp_path / "two" / "scores.csv").read_bytes() == (tmp_path / "one" / "scores.csv").read_bytes()
    shards = [pairs(shard_dir(tmp_path / "two", i) / "results.sqlite") for i in (1, 2)]
    assert all(shards) and not set(shards[0]) & set(shards[1])  # both shards worked, on different pairs
    assert sum(len(s) for s in shards) == 36


def test_sigterm_stops_every_shard_and_the_rerun_resumes(dataset_dir: Path, grid: Path, tmp_path: Path) -> None:
    card = tmp_path / "slow.yaml"
    card.write_text(f"name: slow-highband\ndetector: {DETECTOR_SPEC}\nkwargs: {{delay_ms: 300}}\n")
    reference = CliRunner().invoke(main, sweep_args(DETECTOR_SPEC, dataset_dir, grid, tmp_path / "one", "--quiet"))
    assert reference.exit_code == 0, reference.output
    out = tmp_path / "two"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "audiostress.cli", *sweep_args(str(card), dataset_dir, grid, out, "--procs", "2", "--quiet")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline, stored = time.monotonic() + 120, 0
    while time.monotonic() < deadline and launcher.poll() is None and stored < 3:
        time.sleep(0.2)
        stored = sum(_count(shard_dir(out, i) / "results.sqlite") for i in (1, 2))
    assert launcher.poll() is None, "the launcher finished before it could be stopped"
    launcher.send_signal(signal.SIGTERM)
    assert launcher.wait(timeout=60) != 0
    for i in (1, 2):  # each shard process is gone: its lock is free again
        with SweepLock(shard_dir(out, i)):
            pass
    partial = sum(_count(shard_dir(out, i) / "results.sqlite") for i in (1, 2))
    assert 3 <= partial < 36
    assert not (out / "scores.csv").exists()

    rerun = CliRunner().invoke(main, sweep_args(str(card), dataset_dir, grid, out, "--procs", "2", "--quiet"))
    assert rerun.exit_code == 0, rerun.output
    assert (out / "scores.csv").read_bytes() == (tmp_path / "one" / "scores.csv").read_bytes()
    assert set(pairs(out / "results.sqlite").values()) == {1}


def _count(store: Path) -> int:
    if not store.is_file():
        return 0
    try:
        return sum(pairs(store).values())
    except sqlite3.OperationalError:
        return 0


def test_gpus_pin_each_shard_round_robin_and_need_cuda(dataset_dir: Path, grid: Path, tmp_path: Path) -> None:
    gpus = parse_gpus("0,1")
    assert [shard_env({"A": "1"}, gpus, i)["CUDA_VISIBLE_DEVICES"] for i in (1, 2, 3)] == ["0", "1", "0"]
    assert "CUDA_VISIBLE_DEVICES" not in shard_env({}, [], 1)
    command = shard_command(["--detector", "d.py:build"], tmp_path, 2, 4)
    assert command[1:4] == ["-m", "audiostress.cli", "sweep"]
    assert command[command.index("--shard") + 1] == "2/4" and command[command.index("--out") + 1] == str(tmp_path / "shards" / "2")
    with pytest.raises(ValueError, match="listed twice"):
        parse_gpus("0,0")
    refused = CliRunner().invoke(main, sweep_args(DETECTOR_SPEC, dataset_dir, grid, tmp_path / "x", "--gpus", "0,1"))
    assert refused.exit_code == 2 and "--device cuda" in refused.output
    refused = CliRunner().invoke(main, sweep_args(DETECTOR_SPEC, dataset_dir, grid, tmp_path / "x", "--procs", "2", "--shard", "1/2"))
    assert refused.exit_code == 2 and "--shard" in refused.output
