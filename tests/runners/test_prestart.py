"""``prestart_workers`` (``worker_start.py``): the fork server starts at once without loading torch in the caller,
the workers of the next pool are forked from it, and ``audiostress sweep --workers N`` and ``audiostress.sweep(...,
workers=N)`` start it before they import torch, with the scores of an in-process sweep. Each case runs in a fresh interpreter, where no fork server
is running yet."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from sweep_fixtures import DETECTOR_INPUT, DETECTOR_SPEC

from audiostress.runners.worker_start import DEFAULT_START_METHOD

pytestmark = pytest.mark.skipif(
    DEFAULT_START_METHOD != "forkserver", reason="no fork server on this platform: workers are spawned"
)
#: The server test finds processes through /proc.
needs_proc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")

#: ``children(pid)``: the processes whose parent is ``pid``, as [pid, command line]; read from /proc.
FIND_CHILDREN = r"""
import os

def children(parent):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if ppid == parent:
            found.append([int(entry), cmd])
    return sorted(found)

def servers():
    return [c for c in children(os.getpid()) if "multiprocessing.forkserver" in c[1]]
"""

SERVER_CASE = FIND_CHILDREN + r"""
import json, sys
import audiostress
audiostress.prestart_workers()
light = "torch" not in sys.modules
first = servers()
audiostress.prestart_workers()
again = servers()
from audiostress.runners.pool import WorkerPool
from audiostress.runners.shared_pool import warm
with WorkerPool(2) as pool:
    answered = sorted(set(pool.imap(warm, range(8))))
    forked = [pid for pid, _ in children(first[0][0])] if first else []
print(json.dumps({"light": light, "first": first, "again": again, "answered": answered, "forked": forked}))
"""


def python(code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


@needs_proc
def test_the_prestarted_server_is_light_single_and_the_parent_of_the_next_workers() -> None:
    seen = json.loads(python(SERVER_CASE))
    assert seen["light"], "prestart_workers imported torch into the calling process"
    assert len(seen["first"]) == 1, seen["first"]
    (server, command), = seen["first"]
    assert "audiostress.runners._worker_preload" in command  # it preloads torch, PyAV and the registry
    assert seen["again"] == seen["first"]  # a second call starts no second server
    assert len(seen["forked"]) == 2  # the pool's two workers are the server's children
    assert seen["answered"] and set(seen["answered"]) <= set(seen["forked"])


#: Records each call of prestart_workers (and whether torch was imported by then), then runs the case.
RECORD = r"""
import json, sys
from audiostress.runners import worker_start

calls = []
real = worker_start.prestart_workers

def recording():
    calls.append("torch" in sys.modules)
    real()

worker_start.prestart_workers = recording
"""

CLI_CASE = RECORD + r"""
from audiostress.cli import main

try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    print(json.dumps({"calls": calls}))
"""

API_CASE = RECORD + r"""
import audiostress

spec, data, grid, out, workers, rate, length = sys.argv[1:]
try:
    audiostress.sweep(spec, data, grid, out=out, workers=int(workers),
                      input={"sample_rate": int(rate), "length": int(length)}, output={"kind": "score", "higher_is_fake": True},
                      report=False, n_bootstrap=10)
finally:
    print(json.dumps({"calls": calls}))
"""

GRID = """
cells:
  - {corruption: gaussian_noise, severity: 3}
  - {corruption: mp3, severity: 3}
  - {corruption: opus, severity: 4}
"""


def sweep_args(dataset_dir: Path, grid: Path, out: Path, workers: int) -> list[str]:
    length, rate = str(DETECTOR_INPUT["length"]), str(DETECTOR_INPUT["sample_rate"])
    return ["sweep", "--detector", DETECTOR_SPEC, "--data", str(dataset_dir), "--grid", str(grid), "--out", str(out),
            "--workers", str(workers), "--kind", "score", "--higher-is-fake", "--sample-rate", rate, "--length", length,
            "--pad", "zero", "--crop", "first", "--quiet"]  # fmt: skip


def test_sweep_with_workers_starts_the_server_before_importing_torch_and_keeps_the_scores(
    tmp_path: Path, dataset_dir: Path
) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID)
    pooled = json.loads(python(CLI_CASE, *sweep_args(dataset_dir, grid, tmp_path / "pooled", 2)))
    alone = json.loads(python(CLI_CASE, *sweep_args(dataset_dir, grid, tmp_path / "alone", 0)))
    assert pooled["calls"] == [False]  # called once, while torch was not imported yet
    assert alone["calls"] == []  # in-process codecs: no server
    pooled_csv = (tmp_path / "pooled" / "scores.csv").read_bytes()
    assert pooled_csv == (tmp_path / "alone" / "scores.csv").read_bytes()
    assert pooled_csv.count(b"\n") == 1 + 12 * 4  # header + every (clip, cell): clean and the three cells


def test_the_api_starts_the_server_first_for_pooled_codecs_only(tmp_path: Path, dataset_dir: Path) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID)
    rate, length = str(DETECTOR_INPUT["sample_rate"]), str(DETECTOR_INPUT["length"])
    pooled = json.loads(python(API_CASE, DETECTOR_SPEC, str(dataset_dir), str(grid), str(tmp_path / "pooled"), "2", rate, length))
    alone = json.loads(python(API_CASE, DETECTOR_SPEC, str(dataset_dir), str(grid), str(tmp_path / "alone"), "1", rate, length))
    assert pooled["calls"] == [False] and alone["calls"] == []
    assert (tmp_path / "pooled" / "scores.csv").read_bytes() == (tmp_path / "alone" / "scores.csv").read_bytes()


def test_a_server_that_cannot_start_early_is_left_to_the_pool(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from multiprocessing import forkserver

    from audiostress.runners.worker_start import prestart_workers

    def refuse() -> None:
        raise OSError("AF_UNIX path too long")

    monkeypatch.setattr(forkserver, "ensure_running", refuse)
    with caplog.at_level(logging.DEBUG, logger="audiostress.sweep"):
        prestart_workers()  # no exception: the speed-up is skipped
    assert any("did not start early (AF_UNIX path too long)" in r.getMessage() for r in caplog.records)
