"""The sweep process's torch threads (``threads.py``): set for the sweep and put back, shared by concurrent sweeps,
recorded in provenance, refused when malformed or on Ray, a note when they crowd the codec workers, and a warning
when a resumed store was scored with another count."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path

import pytest
import torch
from analytic_detector import HighBandDetector
from click.testing import CliRunner
from sweep_fixtures import DETECTOR_INPUT, DETECTOR_OUTPUT, DETECTOR_SPEC, load_analytic_detector

from audiostress.cli import main
from audiostress.detectors import load_detector
from audiostress.runners import threads
from audiostress.runners.sweep import SweepConfig, run_sweep
from audiostress.runners.threads import crowding_hint, torch_threads

GRID = """
cells:
  - {corruption: gaussian_noise, severity: 3}
  - {corruption: mp3, severity: 3}
"""


@pytest.fixture
def grid(tmp_path: Path) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(GRID)
    return path


class ThreadsSeen(torch.nn.Module):
    """A detector that records the torch thread count of every call (the analytic score otherwise)."""

    def __init__(self, inner: object) -> None:
        super().__init__()
        self.inner = inner
        self.seen: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(torch.get_num_threads())
        return self.inner(x)  # type: ignore[operator]


def provenance_run(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())["provenance"]["run"]


def test_the_block_runs_with_the_count_and_puts_the_previous_one_back() -> None:
    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    with torch_threads(other) as count:
        assert count == other == torch.get_num_threads()
    assert torch.get_num_threads() == before
    with pytest.raises(KeyError), torch_threads(other):
        raise KeyError("inside")
    assert torch.get_num_threads() == before
    with torch_threads(None) as count:
        assert count == before == torch.get_num_threads()


def test_a_sweep_scores_with_the_count_records_it_and_restores_the_callers(tmp_path: Path, dataset_dir: Path, grid: Path) -> None:
    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    model = ThreadsSeen(HighBandDetector())
    detector = load_detector(model, input=DETECTOR_INPUT, output=DETECTOR_OUTPUT)
    run_sweep(SweepConfig(detector=detector, data=str(dataset_dir), grid=str(grid), out=tmp_path / "set", workers=0,
                          report=False, n_bootstrap=10, torch_threads=other))  # fmt: skip
    assert model.seen and set(model.seen) == {other}
    assert torch.get_num_threads() == before
    assert provenance_run(tmp_path / "set")["torch_threads"] == other
    run_sweep(SweepConfig(detector=detector, data=str(dataset_dir), grid=str(grid), out=tmp_path / "default", workers=0,
                          report=False, n_bootstrap=10))  # fmt: skip
    assert provenance_run(tmp_path / "default")["torch_threads"] == before


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "2"])
def test_a_malformed_count_is_refused_before_the_store(tmp_path: Path, dataset_dir: Path, grid: Path, bad: object) -> None:
    with pytest.raises(ValueError, match="--torch-threads >= 1"):
        run_sweep(SweepConfig(detector=DETECTOR_SPEC, data=str(dataset_dir), grid=str(grid), out=tmp_path / "x",
                              torch_threads=bad))  # type: ignore[arg-type]  # fmt: skip
    assert not (tmp_path / "x").exists()


def test_threads_that_crowd_the_workers_get_a_note_naming_the_fix(
    tmp_path: Path, dataset_dir: Path, grid: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    detector = load_analytic_detector()
    with caplog.at_level(logging.INFO, logger="audiostress.sweep"):
        run_sweep(SweepConfig(detector=detector, data=str(dataset_dir), grid=str(grid), out=tmp_path / "crowded",
                              workers=2, report=False, n_bootstrap=10, torch_threads=2, keep_workers=0))  # fmt: skip
    notes = [r.getMessage() for r in caplog.records if "torch threads beside" in r.getMessage()]
    assert len(notes) == 1 and "2 torch threads beside 2 codec workers on 2 cores" in notes[0]
    assert "--torch-threads 1" in notes[0]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="audiostress.sweep"):
        run_sweep(SweepConfig(detector=detector, data=str(dataset_dir), grid=str(grid), out=tmp_path / "fits",
                              workers=2, report=False, n_bootstrap=10, torch_threads=1, keep_workers=0))  # fmt: skip
    assert not [r for r in caplog.records if "torch threads beside" in r.getMessage()]


def test_the_hint_needs_workers_a_cpu_device_and_more_threads_than_cores_leave() -> None:
    assert crowding_hint(3, 2, "cpu", cores=4) is not None and "--torch-threads 2" in str(crowding_hint(3, 2, "cpu", cores=4))
    assert crowding_hint(2, 2, "cpu", cores=4) is None  # 2 + 2 fit in 4 cores
    assert crowding_hint(4, 1, "cpu", cores=2) is None  # in-process codecs: nothing to crowd
    assert crowding_hint(4, 4, "cuda:0", cores=2) is None  # the detector runs on the GPU
    assert "--torch-threads 1" in str(crowding_hint(4, 8, "cpu", cores=4))  # never below one thread


def test_the_cli_flag_reaches_the_sweep(tmp_path: Path, dataset_dir: Path, grid: Path) -> None:
    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    args = ["sweep", "--detector", DETECTOR_SPEC, "--data", str(dataset_dir), "--grid", str(grid), "--out", str(tmp_path / "cli"),
            "--kind", "score", "--higher-is-fake", "--sample-rate", str(DETECTOR_INPUT["sample_rate"]),
            "--length", str(DETECTOR_INPUT["length"]), "--torch-threads", str(other), "--quiet"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert provenance_run(tmp_path / "cli")["torch_threads"] == other
    refused = CliRunner().invoke(main, [*args[:-2], "0", "--quiet"])  # the same command with --torch-threads 0
    assert refused.exit_code == 2 and "0 is not in the range x>=1" in refused.output


def test_concurrent_blocks_share_one_count_and_the_last_one_out_restores() -> None:
    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    inside, release = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def holder() -> None:
        with torch_threads(other):
            inside.set()
            release.wait(30)
            seen["holder"] = torch.get_num_threads()  # after the other blocks have ended

    thread = threading.Thread(target=holder)
    thread.start()
    assert inside.wait(30)
    try:
        with torch_threads(None) as count:  # unset: runs with, and reports, the count in effect
            seen["joined"] = (count, torch.get_num_threads())
        with pytest.raises(RuntimeError, match=f"runs with {other} torch threads.*torch_threads={other}"):
            with torch_threads(other + 1):
                pass
        assert torch.get_num_threads() == before  # this thread's own count is back
    finally:
        release.set()
        thread.join(30)
    assert seen["joined"] == (other, other)
    assert seen["holder"] == other  # the blocks that ended first did not undo the holder's count
    with torch_threads(other + 1) as count:  # all ended: a new count is free to take
        assert count == torch.get_num_threads() == other + 1
    assert torch.get_num_threads() == before


def test_resuming_with_another_count_warns_and_names_the_earlier_one(
    tmp_path: Path, dataset_dir: Path, grid: Path, caplog: pytest.LogCaptureFixture
) -> None:
    detector = load_analytic_detector()
    out = tmp_path / "resumed"

    def sweep(count: int) -> list[str]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="audiostress.sweep"):
            run_sweep(SweepConfig(detector=detector, data=str(dataset_dir), grid=str(grid), out=out, workers=0,
                                  report=False, n_bootstrap=10, torch_threads=count))  # fmt: skip
        return [r.getMessage() for r in caplog.records if "scored so far with" in r.getMessage()]

    def forget_some_pairs() -> None:  # as if the sweep had been stopped before these were scored
        with sqlite3.connect(str(out / "results.sqlite")) as conn:
            conn.execute("DELETE FROM scores WHERE cell_id = 'mp3@3'")

    assert sweep(1) == []
    forget_some_pairs()
    assert sweep(1) == []  # the same count: nothing to say
    forget_some_pairs()
    notes = sweep(2)
    assert len(notes) == 1 and "with 1 torch threads and this run uses 2" in notes[0] and "--torch-threads 1" in notes[0]
    assert sweep(1) == []  # nothing pending: no pair is scored, so nothing mixes


def test_ray_refuses_the_option(tmp_path: Path, dataset_dir: Path, grid: Path) -> None:
    pytest.importorskip("ray", reason='Ray is not installed: pip install "audiostress[ray]"')
    with pytest.raises(ValueError, match="--torch-threads sets this process's threads; on --engine ray"):
        run_sweep(SweepConfig(detector=DETECTOR_SPEC, data=str(dataset_dir), grid=str(grid), out=tmp_path / "ray",
                              engine="ray", torch_threads=1))  # fmt: skip
    assert not (tmp_path / "ray").exists()
