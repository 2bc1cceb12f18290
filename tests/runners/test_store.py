"""The SQLite store: WAL mode, one row per pair, refusal of a different configuration, CSV export."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from audiostress.runners.store import CSV_COLUMNS, Store, StoreError, describe_difference, export_scores_csv

CONFIG = {"detector": {"spec": "m.py:build", "checkpoint_sha256": "aa"}, "dataset": {"source": "d"}, "grid": {"name": "g"}, "seed": 0}
CELLS = [
    {"cell_id": "clean", "corruption": "clean", "severity": 0, "params": {}, "family": "clean", "node": {}},
    {"cell_id": "gain@1", "corruption": "gain", "severity": 1, "params": {"gain_db": -1.0}, "family": "modification", "node": {}},
]


def row(clip: str, cell: str, p: float | None, error: str | None = None) -> dict:
    sev = 0 if cell == "clean" else 1
    return {"clip_id": clip, "label": "spoof", "attack": "A01", "cell_id": cell, "corruption": cell.split("@")[0],
            "severity": sev, "raw_score": p, "p_fake": p, "measured_snr_db": math.inf if cell == "clean" else 3.25,
            "error": error, "elapsed_ms": 1.0}


def test_store_is_wal_and_keeps_one_row_per_pair(tmp_path: Path) -> None:
    with Store(tmp_path / "results.sqlite") as store:
        store.begin_run(CONFIG, {"created": "now"}, CELLS, None)
        store.write_rows([row("b", "gain@1", 0.25), row("b", "clean", 0.5), row("a", "gain@1", None, "boom")])
        store.write_rows([row("b", "clean", 0.75)])  # rewriting a pair replaces it
        assert store.count() == 3
        # A pair stored with an error is not done: a resume retries it.
        assert store.done_pairs() == {("b", "gain@1"), ("b", "clean")}
        rows = store.rows()
    assert [(r["clip_id"], r["cell_id"]) for r in rows] == [("a", "gain@1"), ("b", "clean"), ("b", "gain@1")]
    assert rows[1]["p_fake"] == 0.75 and rows[1]["measured_snr_db"] == math.inf and rows[0]["error"] == "boom"
    mode = sqlite3.connect(str(tmp_path / "results.sqlite")).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_retried_error_row_is_replaced_and_then_done(tmp_path: Path) -> None:
    with Store(tmp_path / "results.sqlite") as store:
        store.begin_run(CONFIG, {"created": "now"}, CELLS, None)
        store.write_rows([row("a", "gain@1", None, "transient"), row("a", "clean", 0.5)])
        assert ("a", "gain@1") not in store.done_pairs()
        store.write_rows([row("a", "gain@1", 0.125)])
        assert store.done_pairs() == {("a", "gain@1"), ("a", "clean")}
        assert store.count() == 2
        assert [(r["cell_id"], r["p_fake"], r["error"]) for r in store.rows()] == [("clean", 0.5, None), ("gain@1", 0.125, None)]


def test_a_different_configuration_is_refused_naming_the_difference(tmp_path: Path) -> None:
    with Store(tmp_path / "results.sqlite") as store:
        store.begin_run(CONFIG, {}, CELLS, None)
    with Store(tmp_path / "results.sqlite") as store:
        store.begin_run(CONFIG, {}, CELLS, None)  # same configuration: resumes
        with pytest.raises(StoreError) as info:
            store.begin_run({**CONFIG, "seed": 1}, {}, CELLS, None)
        assert "seed (0 -> 1)" in str(info.value)
        changed = {**CONFIG, "detector": {"spec": "m.py:build", "checkpoint_sha256": "bb"}}
        with pytest.raises(StoreError, match=r"detector \(checkpoint_sha256: aa -> bb\)"):
            store.begin_run(changed, {}, CELLS, None)


def test_describe_difference_lists_only_changed_keys() -> None:
    assert describe_difference(CONFIG, CONFIG) == "nothing"
    text = describe_difference(CONFIG, {**CONFIG, "grid": {"name": "quick"}})
    assert text == "grid (name: g -> quick)"


def test_csv_export_writes_floats_by_repr_and_design_columns(tmp_path: Path) -> None:
    rows = [row("a", "clean", 0.1 + 0.2), row("a", "gain@1", None, "corruption failed: x, y")]
    path = export_scores_csv(rows, tmp_path / "scores.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(CSV_COLUMNS)
    assert lines[1] == "a,spoof,A01,clean,clean,0,0.30000000000000004,0.30000000000000004,inf,"
    assert lines[2] == 'a,spoof,A01,gain@1,gain,1,,,3.25,"corruption failed: x, y"'


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "results.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="not a usable results store"):
        Store(bad)
