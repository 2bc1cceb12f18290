"""report.html rendered in headless Chromium: the page is not blank and every embedded image and audio player loaded.

The 55-cell report is a ``paper``-sized sweep (fake scores) with one cell where
every clip failed, long attack names, and listening excerpts written by the real
exporter (``write_listening``) from a stand-in replay function (a speech-like
signal per clip, noise per cell), since a fake sweep has no store to replay.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from fake_sweep import LONG_ATTACKS, make_sweep

from audiostress.reports import write_report
from audiostress.runners.listen import write_listening
from audiostress.synth import speech_like

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


def stand_in_replay(sweep_dir: Path, clip_id: str, cell_id: str) -> tuple[np.ndarray, int]:
    """A 1.5 s speech-like clip per clip id; each cell adds its own faint noise."""
    seed = sum(map(ord, clip_id))
    x = speech_like(1.5, 16000, seed=seed).numpy()
    if cell_id != "clean":
        gen = torch.Generator().manual_seed(sum(map(ord, cell_id)))
        x = x + 0.02 * torch.randn(x.shape, generator=gen).numpy()
    return x.astype(np.float32), 16000


def test_55_cell_report_with_players_renders_in_chromium(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "paper", wide=True, attacks=LONG_ATTACKS, n_errors=24)
    rows = list(csv.DictReader((root / "scores.csv").open()))
    metrics = json.loads((root / "metrics.json").read_text())
    assert len(metrics["cells"]) == 55
    write_listening(root, rows, metrics, k=2, n_fragile=2, replay=stand_in_replay)
    report = write_report([root])
    page = report.read_text()
    n_audio = page.count("<audio ")
    assert n_audio >= 2 * 2 * 50  # two pairs per scored cell
    url = report.resolve().as_uri()
    dom = run_chromium(["--dump-dom", url], tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = {k: re.search(rf'data-{k}="(\d+)"', dom.stdout) for k in
             ("images-total", "images-loaded", "audio-total", "audio-loaded", "audio-failed")}
    assert all(found.values()), "the report's load script did not run: " + dom.stdout[:500]
    counts = {k: int(m.group(1)) for k, m in found.items() if m}
    assert counts["images-total"] >= 8 and counts["images-loaded"] == counts["images-total"]
    assert counts["audio-total"] == n_audio and counts["audio-loaded"] == n_audio and counts["audio-failed"] == 0

    shot = tmp_path / "shot.png"
    res = run_chromium([f"--screenshot={shot}", "--window-size=1280,3000", url], tmp_path / "profile-shot")
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    import matplotlib.image

    pixels = np.asarray(matplotlib.image.imread(shot), dtype=float)[..., :3] * 255.0
    assert pixels.std() > MIN_PIXEL_STD
    assert pixels[:40].mean() < 120 and pixels[600:].mean() > 180
    # the failed cell's red box (#fde2e1 background) is on the first screen
    red = (np.abs(pixels[..., 0] - 0xFD) < 3) & (np.abs(pixels[..., 1] - 0xE2) < 3) & (np.abs(pixels[..., 2] - 0xE1) < 3)
    assert red.sum() > 2000
