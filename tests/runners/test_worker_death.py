"""Pool workers die with their parent: after SIGKILL or SIGTERM of a `--workers 2` sweep, its whole process group is gone.

The sweep runs in its own session (its own process group), so the test can see
every process it started (the spawned workers and multiprocessing's resource
tracker) through that group, and clean it up if the workers outlive it. The kill
lands once the workers have coded clips (codec rows are stored), as in a real
sweep; a worker still importing when its parent dies exits as soon as its
initializer runs (it checks the parent first).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sweep_fixtures import DETECTOR_SPEC

#: Codec cells only, so the pool has work from the first group on.
GRID = "cells:\n  - {corruption: mp3, severities: [1, 2, 3, 4, 5]}\n"
#: How long the group may take to empty after the parent died (the brief: "within a few seconds").
EXIT_WITHIN_S = 5.0


def codec_rows(out: Path) -> int:
    try:
        with sqlite3.connect(str(out / "results.sqlite"), timeout=1.0) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM scores WHERE corruption = 'mp3'").fetchone()[0])
    except sqlite3.Error:
        return 0


def group_members(pgid: int) -> list[int]:
    """Pids whose process group is ``pgid`` (zombies excluded: they are already dead)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_workers_exit_within_seconds_of_the_parent(tmp_path: Path, dataset_dir: Path, how: signal.Signals) -> None:
    (tmp_path / "grid.yaml").write_text(GRID)
    card = tmp_path / "slow.yaml"
    card.write_text(f"name: slow-highband\ndetector: {DETECTOR_SPEC}\nkwargs: {{delay_ms: 300}}\n")
    cmd = [sys.executable, "-m", "audiostress.cli", "sweep", "--detector", str(card), "--sample-rate", "16000",
           "--length", "8000", "--pad", "zero", "--kind", "score", "--higher-is-fake", "--quiet", "--batch-size", "1",
           "--data", str(dataset_dir), "--grid", str(tmp_path / "grid.yaml"), "--out", str(tmp_path / "out"),
           "--workers", "2"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    pgid = proc.pid
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and codec_rows(tmp_path / "out") == 0:
            time.sleep(0.1)  # the workers are up and coding
        assert proc.poll() is None, "the sweep ended before its workers could be seen"
        helpers = [p for p in group_members(pgid) if p != proc.pid]
        assert len(helpers) >= 2, f"expected two pool workers besides the parent, got {helpers}"
        os.kill(proc.pid, how)
        proc.wait(timeout=30)
        start = time.monotonic()
        while group_members(pgid) and time.monotonic() - start < EXIT_WITHIN_S:
            time.sleep(0.05)
        left = group_members(pgid)
        assert left == [], f"still alive {time.monotonic() - start:.1f} s after the parent died: {left}"
    finally:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
