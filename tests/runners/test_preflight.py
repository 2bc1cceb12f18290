"""Issue 10, 2a: what would fail every pair fails before any pair is scored, with exit code 2 and the fix.

Before this, ``fake_index: 5`` on a 2-class model ran a sweep of 0 scored and 24
errors that exited 0, and an offline EnCodec grid recorded one identical weights
error per pair.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner
from sweep_fixtures import DETECTOR_SPEC, load_analytic_detector

from audiostress.cli import main
from audiostress.detectors import load_detector
from audiostress.runners.preflight import PreflightError, layouts, read_headers
from audiostress.runners.sweep import SweepConfig, run_sweep

TWO_CLASS = """
import torch


class TwoClass(torch.nn.Module):
    def forward(self, x):
        s = x.pow(2).mean(dim=1, keepdim=True)
        return torch.cat([s, -s], dim=1)


def build():
    return TwoClass()
"""
GRID = "cells:\n  - {corruption: gain, severity: 3}\n  - {corruption: mp3, severity: 2}\n"


def n_scores(out: Path) -> int:
    """Rows in the store (0 when the sweep never created one)."""
    if not (out / "results.sqlite").is_file():
        return 0
    with sqlite3.connect(out / "results.sqlite") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0])


def sweep_cli(tmp_path: Path, data: Path, *args: str, grid: str = GRID):
    (tmp_path / "grid.yaml").write_text(grid)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sweep", "--data", str(data), "--grid", str(tmp_path / "grid.yaml"),
                                       "--out", str(out), "--quiet", *args])  # fmt: skip
    return result, out


def two_class(tmp_path: Path) -> str:
    (tmp_path / "two_class.py").write_text(TWO_CLASS)
    return f"{tmp_path / 'two_class.py'}:build"


@pytest.mark.parametrize(
    ("flags", "needles"),
    [
        (["--fake-index", "5"], ["`output.fake_index: 5` is out of range", "returned 2 logits"]),
        (["--kind", "probs", "--fake-index", "1"], ["`output.kind: probs` expects values in [0, 1]"]),
    ],
)
def test_a_broken_output_spec_exits_2_before_any_row(tmp_path: Path, dataset_dir: Path, flags, needles) -> None:
    result, out = sweep_cli(tmp_path, dataset_dir, "--detector", two_class(tmp_path), "--length", "8000", *flags)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("audiostress: error: preflight:"), result.output
    assert all(n in lines[0] for n in needles), lines[0]
    assert n_scores(out) == 0


def test_num_classes_from_the_card_is_checked(tmp_path: Path, dataset_dir: Path) -> None:
    card = tmp_path / "card.yaml"
    card.write_text(f"detector: {two_class(tmp_path)}\ninput: {{length: 8000}}\noutput: {{fake_index: 0, num_classes: 3}}\n")
    result, out = sweep_cli(tmp_path, dataset_dir, "--detector", str(card))
    assert result.exit_code == 2 and "`output.num_classes: 3` but the model returned 2 columns" in result.output
    assert n_scores(out) == 0


def test_an_offline_encodec_cell_fails_preflight_naming_the_weights_file(tmp_path: Path, dataset_dir: Path) -> None:
    empty = tmp_path / "no-weights"
    empty.mkdir()
    grid = f"cells:\n  - {{corruption: gain, severity: 3}}\n  - {{corruption: encodec_24k, severity: 1, params: {{weights_path: {empty}}}}}\n"
    result, out = sweep_cli(tmp_path, dataset_dir, "--detector", DETECTOR_SPEC, "--length", "8000", "--pad", "zero",
                            "--kind", "score", "--higher-is-fake", grid=grid)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "preflight: cell encodec_24k@1" in result.output and "encodec_24khz-d7cc33bc.th" in result.output
    assert "mono audio at 16000 Hz" in result.output
    assert n_scores(out) == 0  # not one identical weights error per pair


def test_a_detector_that_fails_on_every_clip_is_refused(tmp_path: Path, dataset_dir: Path) -> None:
    def broken(x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("weights for the wrong architecture")

    det = load_detector(broken, input={"length": 8000}, output={"kind": "score", "higher_is_fake": True})
    (tmp_path / "grid.yaml").write_text(GRID)
    with pytest.raises(PreflightError, match="fails on the first clips of the dataset: .*wrong architecture"):
        run_sweep(SweepConfig(detector=det, data=str(dataset_dir), grid=tmp_path / "grid.yaml", out=tmp_path / "out",
                              quiet=True, report=False))  # fmt: skip
    assert n_scores(tmp_path / "out") == 0


def test_a_probe_that_works_passes_silently(tmp_path: Path, dataset_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "grid.yaml").write_text(GRID)
    with caplog.at_level("INFO", logger="audiostress"):
        res = run_sweep(SweepConfig(detector=load_analytic_detector(4), data=str(dataset_dir), grid=tmp_path / "grid.yaml",
                                    out=tmp_path / "out", quiet=True, report=False, n_bootstrap=0))  # fmt: skip
    assert res.n_scored == 12 * 3 and res.n_errors == 0
    assert not [r for r in caplog.records if "preflight" in r.getMessage()]


def test_layouts_come_from_the_headers_at_the_corrupt_rate(tmp_path: Path) -> None:
    class Clip:
        def __init__(self, path: Path) -> None:
            self.path = path

    sf.write(str(tmp_path / "mono16.wav"), np.zeros(1600, np.float32), 16000)
    sf.write(str(tmp_path / "stereo44.flac"), np.zeros((4410, 2), np.float32), 44100)
    (tmp_path / "broken.wav").write_text("not audio")
    headers = read_headers([Clip(tmp_path / n) for n in ("mono16.wav", "stereo44.flac", "broken.wav")])
    assert [(h.channels, h.sample_rate, h.frames) for h in headers if h] == [(1, 16000, 1600), (2, 44100, 4410)]
    assert headers[2] is None  # its own rows will say why
    assert layouts(headers, None) == [(1, 16000), (2, 44100)]
    assert layouts(headers, 16000) == [(1, 16000), (2, 16000)]
