"""The SQLite store: WAL mode, one row per pair, refusal of a different configuration, CSV export."""

from __future__ import annotations

import csv
import math
import sqlite3
import threading
from pathlib import Path

import pytest

from audiostress.runners.store import (
    CSV_COLUMNS,
    TEXT_COLUMNS,
    Store,
    StoreError,
    describe_difference,
    export_scores_csv,
)  # fmt: skip

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
    tail = "," * (len(CSV_COLUMNS) - 10)  # columns after `error` (e.g. `note`) are empty here
    assert lines[1] == "a,spoof,A01,clean,clean,0,0.30000000000000004,0.30000000000000004,inf," + tail
    assert lines[2] == 'a,spoof,A01,gain@1,gain,1,,,3.25,"corruption failed: x, y"' + tail


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "results.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="not a usable results store"):
        Store(bad)


def _start(path: Path, seed: int, barrier: threading.Barrier, outcomes: dict[int, str]) -> None:
    try:
        with Store(path) as store:
            barrier.wait()
            store.begin_run({**CONFIG, "seed": seed}, {"created": str(seed)}, CELLS, None)
        outcomes[seed] = "ok"
    except StoreError as exc:
        outcomes[seed] = f"StoreError: {exc}"
    except Exception as exc:  # anything else is a failure of the test
        outcomes[seed] = f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("attempt", range(8))
def test_simultaneous_starts_with_different_seeds_one_wins(tmp_path: Path, attempt: int) -> None:
    path = tmp_path / "results.sqlite"
    Store(path).close()  # the file exists, as when two sweeps open one --out
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}
    threads = [threading.Thread(target=_start, args=(path, seed, barrier, outcomes)) for seed in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == [0, 1]
    winners = [s for s, o in outcomes.items() if o == "ok"]
    assert len(winners) == 1, outcomes
    loser = 1 - winners[0]
    assert outcomes[loser].startswith("StoreError: ") and f"seed ({winners[0]} -> {loser})" in outcomes[loser]
    with Store(path) as store:
        assert store.config() == {**CONFIG, "seed": winners[0]}
        assert store.conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1


def _filled_store(path: Path, n: int = 400) -> None:
    with Store(path) as store:
        store.begin_run(CONFIG, {}, CELLS, None)
        store.write_rows([row(f"clip{i:04d}", "clean", i / n, "x" * 200 if i % 2 else None) for i in range(n)])


def _one_line_naming(exc: StoreError, path: Path, *fixes: str) -> None:
    text = str(exc)
    assert "\n" not in text and str(path) in text, text
    for fix in fixes:
        assert fix in text, text
    assert not isinstance(exc, sqlite3.Error)


def test_a_damaged_page_is_a_one_line_store_error(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite"
    _filled_store(path)
    size = path.stat().st_size
    assert size > 8 * 4096 and not (tmp_path / "results.sqlite-wal").exists()
    with path.open("r+b") as f:  # garbage over pages 4..6 (the scores table's pages)
        f.seek(3 * 4096)
        f.write(bytes(range(256)) * 48)
    with pytest.raises(StoreError) as info:
        with Store(path) as store:
            store.begin_run(CONFIG, {}, CELLS, None)
    _one_line_naming(info.value, path, "not a usable results store", "delete", "new --out")
    with pytest.raises(StoreError) as info:  # a read that touches the page says the same
        with Store(path) as store:
            store.rows()
    _one_line_naming(info.value, path, "delete", "new --out")


def test_a_garbage_header_is_a_one_line_store_error(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite"
    _filled_store(path)
    with path.open("r+b") as f:
        f.write(b"\xff" * 100)
    with pytest.raises(StoreError) as info:
        Store(path)
    _one_line_naming(info.value, path, "not a usable results store", "delete", "new --out")


def test_a_full_disk_is_a_one_line_store_error(tmp_path: Path) -> None:
    path = tmp_path / "results.sqlite"
    with Store(path) as store:
        store.begin_run(CONFIG, {}, CELLS, None)
        store.write_rows([row("a", "clean", 0.5)])
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages}")  # the file cannot grow: SQLITE_FULL
        with pytest.raises(StoreError) as info:
            store.write_rows([row(f"b{i}", "clean", 0.25, "y" * 500) for i in range(200)])
        _one_line_naming(info.value, path, "disk is full", "same --out", "new --out")
        assert store.count() == 1  # the failed batch left nothing behind; finished work is kept
        store.write_rows([row("c", "clean", 0.75)])  # a small batch still fits the last page


def test_csv_text_cells_are_spreadsheet_safe_and_read_back(tmp_path: Path) -> None:
    from audiostress.results import read_scores

    hostile = {**row("=HYPERLINK(\"http://x\",\"y\")", "clean", 0.5), "attack": "-A01", "label": "bonafide",
               "raw_score": -1.5, "p_fake": 0.25, "error": "@oops", "measured_snr_db": -3.0}  # fmt: skip
    plain = {**row("'quoted", "gain@1", 0.75), "attack": "+A02"}
    path = export_scores_csv([hostile, plain], tmp_path / "scores.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    first = next(csv.reader([lines[1]]))
    assert first[:10] == ["'=HYPERLINK(\"http://x\",\"y\")", "bonafide", "'-A01", "clean", "clean", "0", "-1.5", "0.25",
                          "-3.0", "'@oops"]  # fmt: skip
    second = next(csv.reader([lines[2]]))
    assert second[0] == "''quoted" and second[2] == "'+A02" and second[3] == "gain@1"
    # No text field starts with a formula character; numbers stay numbers.
    for fields in (first, second):
        for name, value in zip(CSV_COLUMNS, fields):
            if name in TEXT_COLUMNS:
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (name, value)
    frame = read_scores(path)
    assert list(frame["clip_id"]) == ["=HYPERLINK(\"http://x\",\"y\")", "'quoted"]
    assert list(frame["attack"]) == ["-A01", "+A02"]
    assert frame["error"][0] == "@oops" and frame["raw_score"][0] == -1.5 and frame["measured_snr_db"][0] == -3.0


def test_text_columns_are_the_string_fields() -> None:
    assert {"clip_id", "label", "attack", "cell_id", "corruption", "error"} <= TEXT_COLUMNS
    assert not TEXT_COLUMNS & {"severity", "raw_score", "p_fake", "measured_snr_db", "elapsed_ms"}
