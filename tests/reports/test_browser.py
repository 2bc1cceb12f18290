"""report.html rendered in headless Chromium: the page is not blank and every embedded image loaded."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fake_sweep import make_sweep

from audiostress.reports import write_report

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--virtual-time-budget=5000"]
#: A blank page has no pixel variance; a rendered report (text, tables, plots) has plenty.
MIN_PIXEL_STD = 10.0
#: Seconds one headless run may take on a loaded 2-core CI machine.
CHROMIUM_TIMEOUT_S = 120


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    reason = "chromium is not installed (apt-get install chromium chromium-driver); browser render check skipped"
    print(reason)
    pytest.skip(reason)


def run_chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    cmd = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_S, check=False)


def test_report_renders_in_chromium(tmp_path: Path) -> None:
    report = write_report([make_sweep(tmp_path / "sweep")])
    url = report.resolve().as_uri()
    dom = run_chromium(["--dump-dom", url], tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    total = re.search(r'data-images-total="(\d+)"', dom.stdout)
    loaded = re.search(r'data-images-loaded="(\d+)"', dom.stdout)
    assert total and loaded, "the report's load script did not run: " + dom.stdout[:500]
    assert int(total.group(1)) >= 5
    assert loaded.group(1) == total.group(1)

    shot = tmp_path / "shot.png"
    res = run_chromium([f"--screenshot={shot}", "--window-size=1280,2400", url], tmp_path / "profile-shot")
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    import matplotlib.image

    pixels = np.asarray(matplotlib.image.imread(shot), dtype=float)[..., :3] * 255.0
    assert pixels.std() > MIN_PIXEL_STD
    # the dark header band and the white/grey page are both there (not a uniform colour)
    assert pixels[:40].mean() < 120 and pixels[600:].mean() > 180
