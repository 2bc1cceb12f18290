"""``prestart_workers`` (``worker_start.py``): the fork server starts at once without loading torch in the caller,
the workers of the next pool are forked from it, and ``audiostress sweep --workers N`` and ``audiostress.sweep(...,
workers=N)`` start it before they import torch, with the scores of an in-process sweep. Each case runs in a fresh interpreter, where no fork server
is running yet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sweep_fixtures import DETECTOR_INPUT, DETECTOR_SPEC

from audiostress.runners.worker_start import DEFAULT_START_METHOD

pytestmark = pytest.mark.skipif(
    DEFAULT_START_METHOD != "forkserver" or not sys.platform.startswith("linux"),
    reason="a fork server, and /proc to find it, exist on Linux only (workers are spawned on other platforms)",
)

#: Lists this process's children that are fork servers, as [pid, command line]; read from /proc.
FIND_SERVERS = r"""
import os

def servers():
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
        if ppid == os.getpid() and "multiprocessing.forkserver" in cmd:
            found.append([int(entry), cmd])
    return found

def parent_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])
"""

SERVER_CASE = FIND_SERVERS + r"""
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
    answered = set(pool.imap(warm, range(8)))
    workers = sorted(pool._executor._processes)
    parents = sorted({parent_of(pid) for pid in workers})
print(json.dumps({"light": light, "first": first, "again": again, "workers": workers, "parents": parents,
                  "answered": sorted(answered)}))
"""


def python(code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_the_prestarted_server_is_light_single_and_the_parent_of_the_next_workers() -> None:
    seen = json.loads(python(SERVER_CASE))
    assert seen["light"], "prestart_workers imported torch into the calling process"
    assert len(seen["first"]) == 1, seen["first"]
    (server, command), = seen["first"]
    assert "audiostress.runners._worker_preload" in command  # it preloads torch, PyAV and the registry
    assert seen["again"] == seen["first"]  # a second call starts no second server
    assert len(seen["workers"]) == 2 and seen["parents"] == [server]
    assert set(seen["answered"]) <= set(seen["workers"])


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
