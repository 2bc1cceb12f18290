"""A sweep is marked partial when clips, shards or grid cells are missing, whatever shape provenance.grid has."""

from __future__ import annotations

import json
from pathlib import Path

from fake_sweep import make_sweep

from audiostress.reports import write_report
from audiostress.reports.load import load_sweep


def _rewrite(root: Path, edit) -> None:  # type: ignore[no-untyped-def]
    path = root / "metrics.json"
    metrics = json.loads(path.read_text())
    edit(metrics)
    path.write_text(json.dumps(metrics))


def test_complete_fake_sweep_is_not_partial(tmp_path: Path) -> None:
    assert load_sweep(make_sweep(tmp_path / "ok", n_per_class=4)).partial_reasons == []


def test_clips_missing_from_the_dataset_mark_the_sweep_partial(tmp_path: Path) -> None:
    # 8 clips were scored in every cell, but the dataset has 32: three quarters never ran.
    root = make_sweep(tmp_path / "few", n_per_class=4, dataset_n=32)
    reasons = load_sweep(root).partial_reasons
    assert "only 8 of the dataset's 32 clips have scores" in reasons
    page = write_report([root]).read_text()
    assert '<body data-partial="1"' in page and "only 8 of the dataset&#x27;s 32 clips have scores" in page


def test_old_coverage_block_without_clips_expected_is_still_caught(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "old", n_per_class=4, dataset_n=32)

    def old_coverage(m: dict) -> None:  # coverage as written before clips_expected: looks complete
        m["coverage"].update(clips_expected=None, pairs_expected=8 * m["coverage"]["cells"], pairs_missing=0)

    _rewrite(root, old_coverage)
    assert load_sweep(root).partial_reasons == ["only 8 of the dataset's 32 clips have scores"]


def test_a_shard_is_partial(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "shard", n_per_class=4, shard="2/4")
    assert any("shard 2/4" in r for r in load_sweep(root).partial_reasons)
    write_report([root])
    assert "> partial: this is shard 2/4 of the sweep" in (root / "summary.md").read_text()


def test_grid_cells_without_metrics_are_named_for_string_and_dict_grids(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "grid", n_per_class=4)

    def drop_cell(m: dict) -> None:
        m["cells"] = [c for c in m["cells"] if c["cell_id"] != "opus@4"]

    _rewrite(root, drop_cell)
    assert any(r == "1 grid cell(s) have no metrics: opus@4" for r in load_sweep(root).partial_reasons)

    def dict_grid(m: dict) -> None:
        m["provenance"]["grid"]["cells"] = [{"cell_id": c} for c in m["provenance"]["grid"]["cells"]]

    _rewrite(root, dict_grid)
    assert any(r == "1 grid cell(s) have no metrics: opus@4" for r in load_sweep(root).partial_reasons)
