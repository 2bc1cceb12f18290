"""The metric table (metrics/cell_metrics.py) and cells as data in metrics.json."""

from __future__ import annotations

import math

import numpy as np
import pytest

from audiostress.metrics.cell_metrics import CELL, CLEAN, METRICS, Metric, MetricInput, compute_block, metric_names
from audiostress.metrics.cross_cell import corruption_error_block
from audiostress.metrics.functional import auroc, compute_eer, operating_threshold
from audiostress.metrics.summary import build_metrics
from audiostress.runners.grid import cells_for_metrics, clean_cell, make_cell
from audiostress.runners.rows import ScoreRow

CLIPS = [f"b{i}" for i in range(6)] + [f"s{i}" for i in range(6)]


def _raw(cell_index: int) -> list[float]:
    rng = np.random.default_rng(cell_index)
    return (rng.normal(size=len(CLIPS)) + np.array([c.startswith("s") for c in CLIPS]) * (2.0 - cell_index)).tolist()


def _rows(cells: list[dict]) -> list[ScoreRow]:
    rows = []
    for k, cell in enumerate(cells):
        for clip, raw in zip(CLIPS, _raw(k)):
            rows.append(ScoreRow(clip, "spoof" if clip.startswith("s") else "bonafide", None, cell["cell_id"], cell["corruption"],
                                 cell["severity"], raw, 1.0 / (1.0 + math.exp(-raw)), 20.0, None, 1.5))
    return rows


@pytest.fixture(scope="module")
def grid_cells() -> list[dict]:
    cells = [clean_cell(), make_cell("mp3", 3), make_cell("mp3", None, {"bitrate_kbps": 128}),
             make_cell("opus", 2, table="asvspoof5_nb"), make_cell("mp3_then_encodec", 2)]
    return cells_for_metrics([c.to_dict() for c in cells])


def test_cells_in_metrics_json_carry_table_series_axis_and_null_severity(grid_cells) -> None:
    m = build_metrics(_rows(grid_cells), grid_cells, {}, n_bootstrap=0)
    got = {c["cell_id"]: (c["severity"], c["table"], c["series"], c["axis"], c["family"]) for c in m["cells"]}
    assert got == {
        "mp3@3": (3, "li2025", "mp3", {"param": "bitrate_kbps", "unit": "kbps", "value": 24.0}, "codec"),
        "mp3{bitrate_kbps=128}": (None, None, "mp3{bitrate_kbps=128}", {"param": "bitrate_kbps", "unit": "kbps", "value": 128.0}, "codec"),
        "opus[asvspoof5_nb]@2": (2, "asvspoof5_nb", "opus[asvspoof5_nb]", {"param": "bitrate_kbps", "unit": "kbps", "value": 16.0}, "codec"),
        "mp3_then_encodec@2": (2, None, "mp3_then_encodec", {"param": "mp3.bitrate_kbps", "unit": "kbps", "value": 192.0}, "neural_codec"),
    }


def test_score_rows_and_their_dicts_give_the_same_metrics(grid_cells) -> None:
    rows = _rows(grid_cells)
    as_objects = build_metrics(rows, grid_cells, {}, n_bootstrap=50, seed=1)
    as_dicts = build_metrics([r.as_dict() for r in rows], grid_cells, {}, n_bootstrap=50, seed=1)
    assert as_objects == as_dicts
    assert as_objects["cells"][0]["eer"] is not None


def test_a_row_without_a_required_column_names_it() -> None:
    row = _rows([clean_cell().to_dict()])[0].as_dict()
    del row["label"]
    with pytest.raises(ValueError, match="row 0 lacks column 'label'"):
        build_metrics([row], [{"cell_id": "clean", "corruption": "clean", "severity": 0}], {}, n_bootstrap=0)


def test_cells_without_the_new_keys_get_nulls_not_guesses() -> None:
    cells = [{"cell_id": "clean", "corruption": "clean", "severity": 0, "params": {}},
             {"cell_id": "mp3@3", "corruption": "mp3", "severity": 3, "params": {}, "family": "codec"}]
    (cell,) = build_metrics(_rows(cells), cells, {}, n_bootstrap=0)["cells"]
    assert (cell["table"], cell["series"], cell["axis"]) == (None, None, {"param": None, "unit": None, "value": None})


def test_block_values_are_the_table_entries_on_the_paired_arrays(grid_cells) -> None:
    m = build_metrics(_rows(grid_cells), grid_cells, {}, n_bootstrap=0)
    y = np.array([c.startswith("s") for c in CLIPS])
    clean_raw, cell_raw = np.array(_raw(0)), np.array(_raw(1))
    cell = m["cells"][0]
    assert set(metric_names(CELL)) <= set(cell) and set(metric_names(CLEAN)) <= set(m["clean"])
    assert cell["eer"] == compute_eer(cell_raw, y)[0]
    assert cell["delta_eer"] == compute_eer(cell_raw, y)[0] - compute_eer(clean_raw, y)[0]
    assert cell["auroc"] == auroc(cell_raw, y)
    assert m["clean"]["eer_threshold"] == compute_eer(clean_raw, y)[1]
    assert m["clean"]["threshold"] == operating_threshold(clean_raw, compute_eer(clean_raw, y)[1])
    assert "threshold" not in cell and "drift_mean_abs" not in m["clean"]


def test_a_new_metric_is_one_function_and_one_entry() -> None:
    def max_drift(m: MetricInput) -> float:
        _, clean_p = m.paired_clean()
        return float(np.max(np.abs(m.p - clean_p)))

    table = (*METRICS, Metric("max_drift", max_drift, blocks=(CELL,)))
    y = np.array([False, False, True, True])
    data = MetricInput(y, np.array([0.1, 0.2, 0.3, 0.9]), np.array([0.1, 0.2, 0.3, 0.9]),
                       clean_raw=np.zeros(4), clean_p=np.array([0.1, 0.5, 0.3, 0.8]), clean_threshold=0.5)
    block = compute_block(CELL, data, table)
    assert block["max_drift"] == pytest.approx(0.3)
    assert block["flip_rate"] == 0.25  # 0.9 >= 0.5 now, clean 0 < 0.5: one of four clips flips
    assert "max_drift" in metric_names(CELL, table) and "max_drift" not in metric_names(CLEAN, table)


def test_entries_needing_both_classes_or_a_threshold_stay_null() -> None:
    y = np.array([True, True, True])
    raw = np.array([0.1, 0.5, 0.9])
    data = MetricInput(y, raw, raw, clean_raw=raw, clean_p=raw, clean_threshold=None)
    block = compute_block(CELL, data)
    assert block["eer"] is None and block["auroc"] is None and block["flip_rate"] is None
    assert block["drift_mean_abs"] == 0.0 and block["drift_mean_signed_bonafide"] is None


def test_duplicate_metric_names_and_unknown_blocks_are_refused() -> None:
    data = MetricInput(np.array([False, True]), np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="unique"):
        compute_block(CLEAN, data, (*METRICS, METRICS[0]))
    with pytest.raises(ValueError, match="expected block 'clean' or 'cell', got 'cells'"):
        compute_block("cells", data)


def test_corruption_error_groups_by_series_not_by_cell_id() -> None:
    def cell(cell_id: str, severity: int | None, eer: float, series: str | None) -> dict:
        return {"cell_id": cell_id, "severity": severity, "eer": eer, "series": series}

    mine = [cell("custom-a", 1, 0.2, "mp3"), cell("custom-b", 2, 0.3, "mp3"),
            cell("mp3@3{bitrate_kbps=8}", 3, 0.9, "mp3@3{bitrate_kbps=8}"),  # an override: its own series, no CE
            cell("mp3{bitrate_kbps=128}", None, 0.5, "mp3{bitrate_kbps=128}")]
    ref = {"clean": {"eer": 0.1}, "cells": [cell("mp3@1", 1, 0.4, None), cell("mp3@2", 2, 0.6, None)]}  # an old file
    per, _ = corruption_error_block(mine, 0.1, ref)
    assert set(per) == {"mp3"} and per["mp3"]["severities"] == [1, 2]
    assert per["mp3"]["ce"] == pytest.approx(0.5 / 1.0)
