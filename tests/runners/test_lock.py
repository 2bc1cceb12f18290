"""Issue 10, 3c: one sweep per --out. A second sweep (or a merge) on a held directory exits 2 naming the holder."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sweep_fixtures import HERE

from audiostress.cli import main
from audiostress.runners.lock import LOCK_NAME, SweepLock, SweepLockedError, read_holder

#: Seconds the slow sweep may take to start (import torch) and take its lock.
START_TIMEOUT_S = 60
#: The slow detector sleeps this long per forward, so the first sweep holds the lock for seconds.
DELAY_MS = 1500


def test_a_held_lock_names_its_holder_and_is_free_again_after_release(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with SweepLock(out):
        holder = read_holder(out / LOCK_NAME)
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname() and "T" in holder["since"]
        with pytest.raises(SweepLockedError) as info:
            SweepLock(out).acquire()  # another open file description: flock refuses it too
        message = str(info.value)
        assert f"pid {os.getpid()} on host {socket.gethostname()} since {holder['since']}" in message
        assert "another --out" in message
    assert read_holder(out / LOCK_NAME) == {}
    with SweepLock(out):  # released: the next sweep takes it
        pass


def _slow_card(tmp_path: Path) -> Path:
    card = tmp_path / "slow.yaml"
    card.write_text(
        f"detector: {HERE / 'analytic_detector.py'}:build\nkwargs: {{delay_ms: {DELAY_MS}}}\n"
        "input: {sample_rate: 16000, length: 8000, pad: zero}\noutput: {kind: score, higher_is_fake: true}\n"
    )
    return card


def test_a_second_sweep_on_the_same_out_exits_2_naming_the_running_one(tmp_path: Path, dataset_dir: Path) -> None:
    out = tmp_path / "run"
    (tmp_path / "grid.yaml").write_text("cells:\n  - {corruption: gain, severity: 3}\n")
    args = ["sweep", "--detector", str(_slow_card(tmp_path)), "--data", str(dataset_dir),
            "--grid", str(tmp_path / "grid.yaml"), "--out", str(out), "--quiet"]  # fmt: skip
    first = subprocess.Popen([sys.executable, "-c", "from audiostress.cli import main; main()", *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not read_holder(out / LOCK_NAME) and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        holder = read_holder(out / LOCK_NAME)
        assert holder.get("pid") == first.pid, (holder, first.poll())
        second = CliRunner().invoke(main, args)
        assert second.exit_code == 2, second.output
        assert f"in use by another sweep (pid {first.pid} on host {socket.gethostname()} since {holder['since']})" in second.output
        merged = CliRunner().invoke(main, ["merge", str(out), str(tmp_path)])
        assert merged.exit_code == 2 and f"pid {first.pid}" in merged.output
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # even kill -9 frees a flock
        first.wait(timeout=30)
    with SweepLock(out):
        assert json.loads((out / LOCK_NAME).read_text())["pid"] == os.getpid()
