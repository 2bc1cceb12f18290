"""Robustness tests in CI: a copy-paste starting point.

The audiostress pytest plugin is active wherever audiostress is installed. A test asks
for the ``robustness`` fixture, runs a sweep (memoised by identity, so several tests on
one sweep pay for it once, across sessions too) and checks gates on it. A failed gate
fails the test with the cell, the value, its 95% CI and n, the worst clips and the
``audiostress replay`` command for the worst one.

This file runs against the demo detector (trained once and cached under
``$AUDIOSTRESS_CACHE``, default ``~/.cache/audiostress``) on generated clips:

    pytest examples/test_robustness.py

For your own detector replace ``DETECTOR``/``OPTIONS`` with your spec or card and
``DATA`` with your dataset folder or manifest; keep the dataset at 30 clips per cell or
more, or lower ``min_n``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Three cells: mild noise (harmless here), and the mildest and harshest MP3 levels.
GRID_YAML = """
description: example robustness grid
cells:
  - {corruption: gaussian_noise, severity: 1}
  - {corruption: mp3, severities: [1, 5]}
"""
CLIPS_PER_CLASS = 16  # 32 clips per cell: above the default min_n of 30


@pytest.fixture(scope="session")
def demo():
    """The demo detector's arguments and a generated dataset, cached under $AUDIOSTRESS_CACHE."""
    from audiostress.demo import data, detector

    root = Path(os.environ.get("AUDIOSTRESS_CACHE") or Path.home() / ".cache" / "audiostress") / "example-robustness"
    grid = root / "grid.yaml"
    if not (root / "data" / "bonafide").is_dir():
        data.write_dataset(root / "data", CLIPS_PER_CLASS)
    if not grid.is_file() or grid.read_text() != GRID_YAML:
        root.mkdir(parents=True, exist_ok=True)
        grid.write_text(GRID_YAML)
    options = {"checkpoint": detector.ensure_checkpoint(quiet=True), "input": detector.INPUT, "output": detector.OUTPUT}
    return "audiostress.demo.detector:build", root / "data", grid, options


@pytest.mark.audiostress(report=False)
def test_clean_and_mild_noise(robustness, demo):
    detector, data, grid, options = demo
    result = robustness.sweep(detector, data, grid=grid, **options)
    robustness.check(result, "eer[clean] <= 0.05", "delta_eer[gaussian_noise@*] <= 0.10")


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="the demo detector is not trained for 8 kbps MP3 (its EER rises by ~0.6)")
@pytest.mark.audiostress(report=False)
def test_harsh_mp3(robustness, demo):
    detector, data, grid, options = demo
    result = robustness.sweep(detector, data, grid=grid, **options)
    robustness.check(result, "delta_eer[mp3@5] <= 0.05")
