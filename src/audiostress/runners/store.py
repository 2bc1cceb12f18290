"""The results store of one sweep: ``results.sqlite`` in WAL mode.

Tables:

- ``scores``: one row per (clip_id, cell_id) (the primary key); its columns are
  ``ScoreRow``'s fields (``rows.py``), severity empty for explicit-parameter cells;
- ``cells``: the grid, one row per cell with its position, exact node dict and its
  place in the report (severity table, series, axis), so a merge needs nothing else;
- ``runs``: one row per invocation with the provenance JSON, the config
  fingerprint (detector spec + checkpoint hash, dataset, grid, seed) and the shard.

Rows are written in batches, each batch in its own transaction, so a killed
sweep loses at most the batch in flight; re-opening the store with the same
fingerprint resumes (pairs stored with an error are retried), a different one is
refused with a message naming what differs.
The configuration check and the new ``runs`` row share one write transaction
(``BEGIN IMMEDIATE``), so of two sweeps started at once on one store with
different settings exactly one is recorded and the other is refused.

Every SQLite failure (a damaged page, a file that is not SQLite, a full disk, a
lock held too long) surfaces as a one-line ``StoreError`` that names the file and
the way out (free space and resume, a new ``--out``, or delete the store to start
over), never as a raw ``sqlite3`` traceback.

``export_scores_csv`` writes ``scores.csv`` in a deterministic order (clip_id, then
grid order) with floats written by ``repr``, so equal results give equal bytes.
Text columns (clip_id, label, attack, cell_id, corruption, error, and any later
text column) pass through ``csv_safe.escape_cell``: a value starting with ``=``,
``+``, ``-``, ``@``, tab, carriage return or ``'`` gets one leading ``'`` so a
spreadsheet cannot run it as a formula; ``results.read_scores`` removes it again.
Numeric columns are written as numbers (a negative ``raw_score`` stays ``-1.5``).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import json
import math
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from ..csv_safe import escape_cell
from .rows import CSV_COLUMNS, KEY_COLUMNS, SCORE_COLUMNS, ScoreRow, sql_columns

__all__ = [
    "CSV_COLUMNS", "SCORE_COLUMNS", "STORE_NAME", "TEXT_COLUMNS", "Store", "StoreError", "canonical_json",
    "describe_difference", "export_scores_csv", "fingerprint_of", "store_failure",
]  # fmt: skip

STORE_NAME = "results.sqlite"

# The scores table is derived from ScoreRow; the cells' severity is empty for explicit-parameter cells.
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS scores (
    {", ".join(sql_columns())},
    PRIMARY KEY ({", ".join(KEY_COLUMNS)})
);
CREATE TABLE IF NOT EXISTS cells (
    cell_id TEXT PRIMARY KEY, position INTEGER NOT NULL, corruption TEXT NOT NULL,
    severity INTEGER, params TEXT NOT NULL, family TEXT NOT NULL, node TEXT NOT NULL,
    table_name TEXT, series TEXT, axis TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, fingerprint TEXT NOT NULL, config TEXT NOT NULL,
    provenance TEXT NOT NULL, shard TEXT, created TEXT NOT NULL
);
"""
#: Cell columns added after the first stores were written: added to an older store when it is opened.
_LATER_CELL_COLUMNS = ("table_name TEXT", "series TEXT", "axis TEXT")
#: The scores.csv columns that hold text (escaped for spreadsheets); derived from ScoreRow's SQL types.
TEXT_COLUMNS: frozenset[str] = frozenset(d.split()[0] for d in sql_columns() if d.split()[1] == "TEXT")

_P = ParamSpec("_P")
_R = TypeVar("_R")


class StoreError(ValueError):
    """The store cannot be used for this sweep (a different configuration, a broken file, a full disk)."""


def store_failure(path: Path, exc: BaseException) -> StoreError:
    """A one-line ``StoreError`` for an SQLite failure on ``path``, naming the way out."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    low = text.lower()
    if "full" in low:  # SQLITE_FULL: "database or disk is full"
        what = "the disk is full"
        fix = "free disk space and resume with the same --out (finished pairs are kept), or use a new --out elsewhere"
    elif "locked" in low or "busy" in low:
        what = "the store is locked by another process"
        fix = "wait for the other sweep on this --out to finish, or use a new --out"
    elif "unable to open" in low or "readonly" in low or "read-only" in low:
        what = "the store cannot be opened for writing"
        fix = "check the folder's permissions, or use a new --out"
    else:  # "database disk image is malformed", "file is not a database", ...
        what = "not a usable results store (damaged, or not an audiostress SQLite file)"
        fix = f"delete {path} to start over, or use a new --out"
    return StoreError(f"{path}: {what} (sqlite: {text}); {fix}")


def _guarded(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn an ``sqlite3.DatabaseError`` raised by a ``Store`` method into ``store_failure``."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except sqlite3.DatabaseError as exc:
            store = args[0]
            raise store_failure(store.path if isinstance(store, Store) else Path("?"), exc) from exc

    return wrapper


def canonical_json(data: Any) -> str:
    """Sorted, compact JSON used for fingerprints and stored dicts."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def fingerprint_of(config: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the config identity (detector, dataset, grid, seed)."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()


def describe_difference(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """A short text naming what differs between two config identities, e.g. ``seed: 0 -> 1``."""
    parts = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if canonical_json(a) == canonical_json(b):
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            subs = [k for k in sorted(set(a) | set(b)) if canonical_json(a.get(k)) != canonical_json(b.get(k))]
            detail = "; ".join(f"{k}: {_short(a.get(k))} -> {_short(b.get(k))}" for k in subs[:3])
            parts.append(f"{key} ({detail})")
        else:
            parts.append(f"{key} ({_short(a)} -> {_short(b)})")
    return ", ".join(parts) or "nothing"


def _short(value: Any, limit: int = 60) -> str:
    if isinstance(value, str):  # paths and hashes differ at the end: keep the tail
        return value if len(value) <= limit else "..." + value[-(limit - 3) :]
    text = canonical_json(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Store:
    """A sweep's SQLite store; use as a context manager or call ``close``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        try:
            self._open()
        except BaseException:
            self.conn.close()
            raise

    @_guarded
    def _open(self) -> None:
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        with self.transaction():  # one writer creates or upgrades the schema; others wait, then see it
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self.conn.execute(statement)
            have = {r[1] for r in self.conn.execute("PRAGMA table_info(cells)")}
            for column in _LATER_CELL_COLUMNS:
                if column.split()[0] not in have:
                    self.conn.execute(f"ALTER TABLE cells ADD COLUMN {column}")
            have = {r[1] for r in self.conn.execute("PRAGMA table_info(scores)")}
            for column in sql_columns():  # ScoreRow fields added later (nullable or with a DEFAULT)
                if column.split()[0] not in have:
                    self.conn.execute(f"ALTER TABLE scores ADD COLUMN {column}")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    # -- configuration -------------------------------------------------------------
    @_guarded
    def config(self) -> dict[str, Any] | None:
        """The config identity of the first run, or ``None`` for a new store."""
        row = self.conn.execute("SELECT config FROM runs ORDER BY id LIMIT 1").fetchone()
        return json.loads(row[0]) if row else None

    @_guarded
    def provenance(self) -> dict[str, Any] | None:
        """The provenance recorded by the latest run."""
        row = self.conn.execute("SELECT provenance FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return json.loads(row[0]) if row else None

    @_guarded
    def check_config(self, config: Mapping[str, Any]) -> None:
        """Refuse a store made with a different detector, dataset, grid or seed."""
        old = self.config()
        if old is None or fingerprint_of(old) == fingerprint_of(config):
            return
        raise StoreError(
            f"{self.path.parent} holds a sweep with a different configuration: "
            f"{describe_difference(old, config)}. Use a new --out, or the same settings to resume."
        )

    @_guarded
    def begin_run(
        self, config: Mapping[str, Any], provenance: Mapping[str, Any], cells: Sequence[Mapping[str, Any]], shard: str | None
    ) -> None:
        """Check the store's health and the config, record the cells (first run) and append a ``runs`` row.

        The check and the insert run in one ``BEGIN IMMEDIATE`` transaction, so a
        concurrent start with other settings waits for this one and is then refused.
        """
        self._check_health()
        with self.transaction():
            self.check_config(config)
            if self.config() is None:
                self.conn.executemany(
                    "INSERT INTO cells (cell_id, position, corruption, severity, params, family, node, table_name, "
                    "series, axis) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (c["cell_id"], i, c["corruption"], _severity(c.get("severity")), canonical_json(c.get("params", {})),
                         c.get("family", ""), canonical_json(c.get("node", {})), c.get("table"), c.get("series"),
                         canonical_json(c["axis"]) if c.get("axis") is not None else None)
                        for i, c in enumerate(cells)
                    ],
                )
            self.conn.execute(
                "INSERT INTO runs (fingerprint, config, provenance, shard, created) VALUES (?, ?, ?, ?, ?)",
                (fingerprint_of(config), canonical_json(config), canonical_json(provenance), shard,
                 str(provenance.get("created", ""))),
            )

    def _check_health(self) -> None:
        """``PRAGMA quick_check``: a damaged page fails here, before any work, not mid-sweep."""
        problems = [str(r[0]) for r in self.conn.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            raise store_failure(self.path, sqlite3.DatabaseError("; ".join(problems)))

    def transaction(self) -> _Transaction:
        """A ``BEGIN IMMEDIATE`` transaction (the write lock is taken at once), committed on success."""
        return _Transaction(self.conn)

    # -- scores ----------------------------------------------------------------------
    @_guarded
    def done_pairs(self) -> set[tuple[str, str]]:
        """Every (clip_id, cell_id) stored without an error.

        Pairs whose row holds an error are not done: a resume retries them (a
        failure may be transient) and the new row replaces the old one.
        """
        return {(a, b) for a, b in self.conn.execute("SELECT clip_id, cell_id FROM scores WHERE error IS NULL")}

    @_guarded
    def write_rows(self, rows: Iterable[ScoreRow | Mapping[str, Any]]) -> int:
        """Insert a batch of score rows (``ScoreRow`` or mappings) in one transaction; returns the count."""
        values = [tuple(_sql_value(_get(r, k)) for k in SCORE_COLUMNS) for r in rows]
        if not values:
            return 0
        marks = ", ".join("?" for _ in SCORE_COLUMNS)
        with self.transaction():
            self.conn.executemany(f"INSERT OR REPLACE INTO scores ({', '.join(SCORE_COLUMNS)}) VALUES ({marks})", values)
        return len(values)

    @_guarded
    def cells(self) -> list[dict[str, Any]]:
        """The grid cells in grid order, as ``Cell.to_dict`` gave them (``params``, ``node``, ``axis`` decoded).

        A store written before cells carried their table, series and axis leaves those keys out.
        """
        out = []
        for cell_id, corruption, severity, params, family, node, table, series, axis in self.conn.execute(
            "SELECT cell_id, corruption, severity, params, family, node, table_name, series, axis FROM cells "
            "ORDER BY position"
        ):
            cell = {"cell_id": cell_id, "corruption": corruption, "severity": severity, "params": json.loads(params),
                    "family": family, "node": json.loads(node)}  # fmt: skip
            if series is not None or axis is not None:
                cell.update(table=table, series=series, axis=json.loads(axis) if axis is not None else None)
            out.append(cell)
        return out

    @_guarded
    def rows(self) -> list[dict[str, Any]]:
        """Every score row, ordered by clip_id then grid order (deterministic)."""
        cur = self.conn.execute(
            f"SELECT {', '.join('s.' + k for k in SCORE_COLUMNS)} FROM scores s "
            "LEFT JOIN cells c ON c.cell_id = s.cell_id ORDER BY s.clip_id, c.position, s.cell_id"
        )
        return [dict(zip(SCORE_COLUMNS, r)) for r in cur]

    @_guarded
    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0])


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if not exc_type:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:  # SQLite may already have rolled back (e.g. after SQLITE_FULL)
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.DatabaseError:
                pass  # the original error is the one to report


#: What a mapping row without a later-added column holds there (the ScoreRow field's default).
_ROW_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in dataclasses.fields(ScoreRow) if f.default is not dataclasses.MISSING
}


def _get(row: ScoreRow | Mapping[str, Any], name: str) -> Any:
    return getattr(row, name) if isinstance(row, ScoreRow) else row.get(name, _ROW_DEFAULTS.get(name))


def _severity(value: Any) -> int | None:
    return None if value is None else int(value)


def _sql_value(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _csv_value(value: Any, text: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return escape_cell(str(value)) if text else str(value)


def export_scores_csv(rows: Sequence[ScoreRow | Mapping[str, Any]], path: str | Path) -> Path:
    """Write ``scores.csv`` (``CSV_COLUMNS``; floats by ``repr``; an empty severity for explicit-parameter cells).

    Text columns are spreadsheet-safe (``csv_safe.escape_cell``); ``results.read_scores`` undoes it.
    """
    p = Path(path)
    tmp = p.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow([_csv_value(_get(row, k), k in TEXT_COLUMNS) for k in CSV_COLUMNS])
    tmp.replace(p)
    return p
