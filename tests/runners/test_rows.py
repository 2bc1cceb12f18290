"""One score-row schema: the SQL table, the store's columns and scores.csv all follow ScoreRow."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from audiostress.runners.rows import CSV_COLUMNS, KEY_COLUMNS, OPTIONAL_COLUMNS, SCORE_COLUMNS, ScoreRow, sql_columns
from audiostress.runners.store import Store, export_scores_csv

CONFIG = {"detector": {"spec": "m.py:build"}, "dataset": {"source": "d"}, "grid": {"name": "g"}, "seed": 0}
#: An explicit-parameter cell has no severity.
CELLS = [
    {"cell_id": "clean", "corruption": "clean", "severity": 0, "params": {}, "family": "clean", "node": {},
     "table": None, "series": "clean", "axis": {"param": None, "unit": None, "value": None}},
    {"cell_id": "gain{gain_db=-3}", "corruption": "gain", "severity": None, "params": {"gain_db": -3.0},
     "family": "modification", "node": {"type": "corruption", "name": "gain", "params": {"gain_db": -3.0}},
     "table": None, "series": "gain", "axis": {"param": "gain_db", "unit": "dB", "value": -3.0}},
]  # fmt: skip


def explicit_row(p: float | None = 0.25, error: str | None = None) -> ScoreRow:
    return ScoreRow("a", "spoof", "A01", "gain{gain_db=-3}", "gain", None, p, p, 3.0, error, 2.5)


def test_columns_are_the_fields_in_design_order() -> None:
    assert SCORE_COLUMNS == tuple(f.name for f in dataclasses.fields(ScoreRow))
    assert CSV_COLUMNS == (
        "clip_id", "label", "attack", "cell_id", "corruption", "severity", "raw_score", "p_fake", "measured_snr_db", "error",
        "note",
    )  # fmt: skip
    assert SCORE_COLUMNS == CSV_COLUMNS[:-1] + ("elapsed_ms", "note", "retries", "detect_ms", "audio_s")
    assert KEY_COLUMNS == ("clip_id", "cell_id")
    assert sql_columns() == [
        "clip_id TEXT NOT NULL", "label TEXT NOT NULL", "attack TEXT", "cell_id TEXT NOT NULL",
        "corruption TEXT NOT NULL", "severity INTEGER", "raw_score REAL", "p_fake REAL", "measured_snr_db REAL",
        "error TEXT", "elapsed_ms REAL", "note TEXT", "retries INTEGER DEFAULT 0", "detect_ms REAL", "audio_s REAL",
    ]  # fmt: skip
    assert OPTIONAL_COLUMNS == {"note": None, "retries": 0, "detect_ms": None, "audio_s": None}


def test_rows_without_the_later_columns_read_with_their_defaults() -> None:
    """A mapping from an older store or CSV (no note, no retries, or NULL retries) still becomes a row."""
    old = {k: v for k, v in explicit_row().as_dict().items() if k not in ("note", "retries")}
    assert ScoreRow.from_mapping(old) == explicit_row()
    assert ScoreRow.from_mapping(dict(old, retries=None, note=None)).retries == 0
    retried = dataclasses.replace(explicit_row(), retries=1, note="scored alone after the batch failed: X")
    assert ScoreRow.from_mapping(retried.as_dict()) == retried


def test_the_store_table_is_derived_from_the_row(tmp_path: Path) -> None:
    Store(tmp_path / "r.sqlite").close()
    conn = sqlite3.connect(str(tmp_path / "r.sqlite"))
    info = conn.execute("PRAGMA table_info(scores)").fetchall()  # (cid, name, type, notnull, default, pk)
    assert tuple(r[1] for r in info) == SCORE_COLUMNS
    declared = [f"{r[1]} {r[2]}{' NOT NULL' if r[3] else ''}{f' DEFAULT {r[4]}' if r[4] is not None else ''}" for r in info]
    assert declared == sql_columns()
    assert [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]] == list(KEY_COLUMNS)
    cells = {r[1]: r[3] for r in conn.execute("PRAGMA table_info(cells)")}
    assert cells["severity"] == 0  # nullable: explicit-parameter cells


def test_an_explicit_parameter_cell_stores_a_null_severity_and_an_empty_csv_field(tmp_path: Path) -> None:
    with Store(tmp_path / "results.sqlite") as store:
        store.begin_run(CONFIG, {"created": "now"}, CELLS, None)
        assert store.write_rows([explicit_row(), ScoreRow("a", "spoof", "A01", "clean", "clean", 0, 0.5, 0.5, None, None, 1.0)]) == 2
        rows = store.rows()
        cells = store.cells()
    assert [r["severity"] for r in rows] == [0, None]
    assert ScoreRow.from_mapping(rows[1]) == explicit_row()
    assert cells == CELLS  # the cells come back as given, table, series and axis included
    lines = export_scores_csv(rows, tmp_path / "scores.csv").read_text().splitlines()
    assert lines[0] == ",".join(CSV_COLUMNS)
    assert lines[2] == "a,spoof,A01,gain{gain_db=-3},gain,,0.25,0.25,3.0,,"  # empty error, empty note


def test_a_row_from_an_incomplete_mapping_names_what_is_missing() -> None:
    data = explicit_row().as_dict()
    del data["p_fake"]
    with pytest.raises(ValueError, match=r"lacks \['p_fake'\]"):
        ScoreRow.from_mapping(data)


def test_a_store_written_before_note_and_retries_gains_them_and_reads_defaults(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite"
    old_columns = [c for c in sql_columns() if c.split()[0] not in OPTIONAL_COLUMNS]
    with sqlite3.connect(str(path)) as conn:  # the scores table as the first stores wrote it
        conn.execute(f"CREATE TABLE scores ({', '.join(old_columns)}, PRIMARY KEY (clip_id, cell_id))")
        conn.execute("INSERT INTO scores VALUES ('a', 'spoof', 'A01', 'clean', 'clean', 0, 0.5, 0.5, NULL, NULL, 1.0)")
    with Store(path) as store:
        assert store.write_rows([explicit_row()]) == 1
        rows = {r["cell_id"]: ScoreRow.from_mapping(r) for r in store.rows()}
    assert rows["clean"].retries == 0 and rows["clean"].note is None
    assert rows["gain{gain_db=-3}"] == explicit_row()
