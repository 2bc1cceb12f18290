"""The exporter list, the run's provenance and what a sweep writes to stderr and to the log."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sweep_fixtures import load_analytic_detector

from audiostress.runners.export import DATA_EXPORTERS, EXPORTERS, ExportContext, Exporter, exporters_for, run_exporters
from audiostress.runners.store import STORE_NAME, Store
from audiostress.runners.sweep import SweepConfig, run_sweep

GRID = "cells:\n  - {corruption: gain, severity: 5}\n  - {corruption: gain, params: {gain_db: -3}}\n"


def sweep(tmp_path: Path, data: Path, name: str, **kw: object) -> object:
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID)
    cfg: dict = dict(detector=load_analytic_detector(3), data=str(data), grid=grid, out=tmp_path / name,
                     report=False, n_bootstrap=20, batch_size=16)  # fmt: skip
    cfg.update(kw)
    return run_sweep(SweepConfig(**cfg))


def test_the_exporters_run_in_order_and_report_false_keeps_only_the_data() -> None:
    assert [e.name for e in EXPORTERS] == ["scores.csv", "metrics.json", "listen", "report"]
    assert exporters_for(report=False) == DATA_EXPORTERS == EXPORTERS[:2]
    assert exporters_for(report=True) == EXPORTERS


def test_a_new_exporter_is_one_more_list_entry_and_sees_the_metrics(tmp_path: Path, dataset_dir: Path) -> None:
    res = sweep(tmp_path, dataset_dir, "run")
    with Store(res.out_dir / STORE_NAME) as store:
        rows, cells, provenance = store.rows(), store.cells(), store.provenance() or {}

    def n_cells(ctx: ExportContext) -> Path:
        path = ctx.out / "n_cells.txt"
        path.write_text(str(len((ctx.metrics or {})["cells"])))
        return path

    out = tmp_path / "again"
    out.mkdir()
    ctx = ExportContext(out, rows, cells, None, provenance, seed=0, n_bootstrap=20)
    run_exporters(ctx, [*DATA_EXPORTERS, Exporter("n_cells", n_cells)])
    assert list(ctx.outputs) == ["scores.csv", "metrics.json", "n_cells"]
    assert (out / "n_cells.txt").read_text() == "2"
    assert (out / "scores.csv").read_bytes() == (res.out_dir / "scores.csv").read_bytes()
    # The explicit-parameter cell's severity is empty in scores.csv and null in metrics.json.
    lines = (out / "scores.csv").read_text().splitlines()
    assert all(line.split(",")[5] == "" for line in lines if ",gain{gain_db=-3}," in line)
    explicit = next(c for c in json.loads((out / "metrics.json").read_text())["cells"] if c["cell_id"] == "gain{gain_db=-3}")
    assert explicit["severity"] is None


def test_provenance_records_the_detectors_own_batch_size(tmp_path: Path, dataset_dir: Path) -> None:
    res = sweep(tmp_path, dataset_dir, "run", batch_size=16)  # the detector object was built with batch_size 3
    provenance = res.metrics["provenance"]
    assert provenance["run"]["batch_size"] == provenance["detector"]["batch_size"] == 3


def test_without_progress_nothing_is_drawn_and_progress_is_logged_at_debug(
    tmp_path: Path, dataset_dir: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.DEBUG, logger="audiostress"):
        res = sweep(tmp_path, dataset_dir, "run")
    assert capsys.readouterr() == ("", "")
    debug = [r.getMessage() for r in caplog.records if r.name == "audiostress.progress"]
    assert debug and debug[-1].startswith("grid: 36/36 pairs (0 errors)")
    summary = [r for r in caplog.records if r.name == "audiostress.sweep" and r.levelno == logging.INFO][-1]
    assert summary.getMessage().startswith("audiostress sweep: 36 scored, 0 errors, 0 already done")
    assert res.n_scored == 36


def test_with_progress_a_bar_is_drawn_on_stderr(tmp_path: Path, dataset_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep(tmp_path, dataset_dir, "run", progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "grid: clips x cells" in captured.err and "36/36" in captured.err
