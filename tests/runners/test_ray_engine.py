"""The Ray Data engine: byte-identical to the local engine, resume, the shared corrupted-audio cache, faults (killed
actor, killed driver), no Ray installed."""

from __future__ import annotations

import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sweep_fixtures import DETECTOR_INPUT, DETECTOR_OUTPUT, DETECTOR_SPEC, HERE

from audiostress.data import load_dataset
from audiostress.detectors import load_detector
from audiostress.runners.cache import CorruptCache
from audiostress.runners.grid import load_grid
from audiostress.runners.plan import make_plan
from audiostress.runners.ray_engine import RayEngine
from audiostress.runners.sweep import SweepConfig, run_sweep

#: A device cell, a CPU (codec) cell and the clean cell: 12 clips in 2 groups give 6 (group, cell) units.
GRID = "cells:\n  - {corruption: low_pass, severity: 3}\n  - {corruption: mp3, severity: 3}\n"
DYING_SPEC = f"{HERE / 'dying_detector.py'}:build"
CARD_FLAGS = ["--sample-rate", "16000", "--length", "8000", "--pad", "zero", "--kind", "score", "--higher-is-fake"]


def config(data: Path, grid: Path, out: Path, detector: str = DETECTOR_SPEC, kwargs: dict | None = None, **extra) -> SweepConfig:
    overrides = {"input": DETECTOR_INPUT, "output": DETECTOR_OUTPUT, **({"kwargs": kwargs} if kwargs else {})}
    settings = {"report": False, "n_bootstrap": 10, "batch_size": 3, **extra}
    return SweepConfig(detector=detector, data=str(data), grid=str(grid), out=out, detector_overrides=overrides, **settings)


def stored(out: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(str(out / "results.sqlite")) as conn:
        return [tuple(r) for r in conn.execute("SELECT clip_id, cell_id, error FROM scores")]


@pytest.fixture()
def grid(tmp_path: Path) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(GRID)
    return path


def test_ray_scores_equal_the_local_engine_and_resume(ray_cluster, dataset_dir: Path, grid: Path, tmp_path: Path) -> None:
    run_sweep(config(dataset_dir, grid, tmp_path / "local"))
    local = (tmp_path / "local" / "scores.csv").read_bytes()
    on_ray = tmp_path / "ray"
    first = run_sweep(config(dataset_dir, grid, on_ray, engine="ray"))
    assert first.n_scored == 36 and first.n_errors == 0
    assert (on_ray / "scores.csv").read_bytes() == local

    with sqlite3.connect(str(on_ray / "results.sqlite")) as conn:  # lose the codec cell and two clean rows
        conn.execute("DELETE FROM scores WHERE cell_id = 'mp3@3' OR clip_id IN ('bonafide/bonafide_00', 'spoof/spoof_03') AND cell_id = 'clean'")
    resumed = run_sweep(config(dataset_dir, grid, on_ray, engine="ray"))
    assert (resumed.n_scored, resumed.n_skipped) == (14, 22)
    assert (on_ray / "scores.csv").read_bytes() == local


def _cache_counts(caplog: pytest.LogCaptureFixture) -> tuple[int, int]:
    """(hits, computed) from the last cache summary line, local or Ray."""
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("corrupted-audio cache")]
    assert lines, "no cache summary was logged"
    m = re.search(r": (\d+) hits, (\d+) computed", lines[-1])
    assert m, lines[-1]
    return int(m.group(1)), int(m.group(2))


def test_ray_with_the_cache_equals_local_and_shares_its_entries(
    ray_cluster, dataset_dir: Path, grid: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="audiostress")
    run_sweep(config(dataset_dir, grid, tmp_path / "plain"))
    plain = (tmp_path / "plain" / "scores.csv").read_bytes()
    cache = tmp_path / "shared-cache"
    run_sweep(config(dataset_dir, grid, tmp_path / "ray-1", engine="ray", cache=cache))
    assert (tmp_path / "ray-1" / "scores.csv").read_bytes() == plain
    assert _cache_counts(caplog) == (0, 24)  # 12 clips x (low_pass on the actor, mp3 in the tasks); clean is never cached
    entries = CorruptCache(cache).entries()
    assert entries == 24

    caplog.clear()  # a second Ray sweep reads every corrupted clip back
    run_sweep(config(dataset_dir, grid, tmp_path / "ray-2", engine="ray", cache=cache))
    assert (tmp_path / "ray-2" / "scores.csv").read_bytes() == plain
    assert _cache_counts(caplog) == (24, 0)
    caplog.clear()  # and so does the local engine: one key space for both
    run_sweep(config(dataset_dir, grid, tmp_path / "local", cache=cache))
    assert (tmp_path / "local" / "scores.csv").read_bytes() == plain
    assert _cache_counts(caplog) == (24, 0)
    assert CorruptCache(cache).entries() == entries


def test_a_killed_scoring_actor_is_retried_by_ray(ray_cluster, dataset_dir: Path, grid: Path, tmp_path: Path) -> None:
    marker = tmp_path / "killed-once"
    kwargs = {"mode": "once", "marker": str(marker), "spare_pid": os.getpid()}
    run_sweep(config(dataset_dir, grid, tmp_path / "local", DYING_SPEC, kwargs))  # this process is spared
    assert not marker.exists()
    run = run_sweep(config(dataset_dir, grid, tmp_path / "ray", DYING_SPEC, kwargs, engine="ray"))
    assert marker.exists(), "no actor was killed"
    assert (run.n_scored, run.n_errors) == (36, 0)
    pairs = Counter((clip, cell) for clip, cell, _ in stored(tmp_path / "ray"))
    assert len(pairs) == 36 and set(pairs.values()) == {1}
    assert (tmp_path / "ray" / "scores.csv").read_bytes() == (tmp_path / "local" / "scores.csv").read_bytes()


def test_a_unit_that_kills_every_actor_becomes_error_rows(ray_cluster, tmp_path: Path) -> None:
    from sweep_fixtures import write_dataset

    data = write_dataset(tmp_path / "data", n_per_class=2)  # 4 clips: one group
    grid = load_grid(_grid_file(tmp_path))
    kwargs = {"mode": "always", "marker": str(tmp_path / "m"), "spare_pid": os.getpid()}
    detector = load_detector(DYING_SPEC, kwargs=kwargs, input=DETECTOR_INPUT, output=DETECTOR_OUTPUT)
    plan = make_plan(load_dataset(str(data)).clips, [c.cell_id for c in grid.cells], seed=0)
    rows: list = []
    RayEngine(plan, grid, detector, rows.extend, corrupt_rate=16000, retries=0).run()
    keys = Counter(r.key for r in rows)
    assert len(keys) == 8 and set(keys.values()) == {1}  # every pair once: none lost, none duplicated
    assert all(r.raw_score is None and "died 1 times" in (r.error or "") for r in rows)


def _grid_file(tmp_path: Path) -> Path:
    path = tmp_path / "gain.yaml"
    path.write_text("cells:\n  - {corruption: gain, severity: 1}\n")
    return path


def test_a_killed_driver_leaves_a_store_that_resumes(ray_cluster, dataset_dir: Path, grid: Path, tmp_path: Path) -> None:
    card = tmp_path / "slow.yaml"
    card.write_text(f"name: slow-highband\ndetector: {DETECTOR_SPEC}\nkwargs: {{delay_ms: 400}}\n")
    run_sweep(config(dataset_dir, grid, tmp_path / "local"))
    out = tmp_path / "killed"
    address = ray_cluster.get_runtime_context().gcs_address
    cmd = [sys.executable, "-m", "audiostress.cli", "sweep", "--detector", str(card), *CARD_FLAGS, "--data", str(dataset_dir),
           "--grid", str(grid), "--out", str(out), "--batch-size", "3", "--quiet", "--engine", "ray", "--ray-address", address]  # fmt: skip
    driver = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, n = time.monotonic() + 150, 0
    while time.monotonic() < deadline and driver.poll() is None and n < 1:
        time.sleep(0.2)
        try:
            n = len(stored(out)) if (out / "results.sqlite").exists() else 0
        except sqlite3.OperationalError:
            continue
    assert driver.poll() is None, "the driver finished before it could be killed"
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    partial = len(stored(out))
    assert 1 <= partial < 36

    resumed = run_sweep(config(dataset_dir, grid, out, str(card), engine="ray"))
    assert resumed.n_skipped == partial and resumed.n_scored == 36 - partial
    assert (out / "scores.csv").read_bytes() == (tmp_path / "local" / "scores.csv").read_bytes()


def test_without_ray_the_error_names_the_pip_command(dataset_dir: Path, grid: Path, tmp_path: Path) -> None:
    code = "import sys; sys.modules['ray'] = None; from audiostress.cli import main; main()"
    args = ["sweep", "--detector", DETECTOR_SPEC, *CARD_FLAGS, "--data", str(dataset_dir), "--grid", str(grid),
            "--out", str(tmp_path / "out"), "--engine", "ray"]  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert 'pip install "audiostress[ray]"' in done.stderr
    assert not (tmp_path / "out" / "results.sqlite").exists()
