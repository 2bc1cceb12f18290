"""The results store of one sweep: ``results.sqlite`` in WAL mode.

Tables:

- ``scores``: one row per (clip_id, cell_id) (the primary key) with label, attack,
  corruption, severity, raw_score, p_fake, measured_snr_db, error and elapsed_ms;
- ``cells``: the grid, one row per cell with its position and exact node dict;
- ``runs``: one row per invocation with the provenance JSON, the config
  fingerprint (detector spec + checkpoint hash, dataset, grid, seed) and the shard.

Rows are written in batches, each batch in its own transaction, so a killed
sweep loses at most the batch in flight; re-opening the store with the same
fingerprint resumes (pairs stored with an error are retried), a different one is
refused with a message naming what differs.
``export_scores_csv`` writes ``scores.csv`` in a deterministic order (clip_id, then
grid order) with floats written by ``repr``, so equal results give equal bytes.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

STORE_NAME = "results.sqlite"
#: The scores.csv columns, in DESIGN.md order.
CSV_COLUMNS = (
    "clip_id", "label", "attack", "cell_id", "corruption", "severity",
    "raw_score", "p_fake", "measured_snr_db", "error",
)  # fmt: skip
SCORE_COLUMNS = CSV_COLUMNS + ("elapsed_ms",)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    clip_id TEXT NOT NULL, cell_id TEXT NOT NULL, label TEXT NOT NULL, attack TEXT,
    corruption TEXT NOT NULL, severity INTEGER NOT NULL, raw_score REAL, p_fake REAL,
    measured_snr_db REAL, error TEXT, elapsed_ms REAL,
    PRIMARY KEY (clip_id, cell_id)
);
CREATE TABLE IF NOT EXISTS cells (
    cell_id TEXT PRIMARY KEY, position INTEGER NOT NULL, corruption TEXT NOT NULL,
    severity INTEGER NOT NULL, params TEXT NOT NULL, family TEXT NOT NULL, node TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, fingerprint TEXT NOT NULL, config TEXT NOT NULL,
    provenance TEXT NOT NULL, shard TEXT, created TEXT NOT NULL
);
"""


class StoreError(ValueError):
    """The store cannot be used for this sweep (a different configuration, a broken file)."""


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
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable results store ({exc})") from exc

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    # -- configuration -------------------------------------------------------------
    def config(self) -> dict[str, Any] | None:
        """The config identity of the first run, or ``None`` for a new store."""
        row = self.conn.execute("SELECT config FROM runs ORDER BY id LIMIT 1").fetchone()
        return json.loads(row[0]) if row else None

    def provenance(self) -> dict[str, Any] | None:
        """The provenance recorded by the latest run."""
        row = self.conn.execute("SELECT provenance FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return json.loads(row[0]) if row else None

    def check_config(self, config: Mapping[str, Any]) -> None:
        """Refuse a store made with a different detector, dataset, grid or seed."""
        old = self.config()
        if old is None or fingerprint_of(old) == fingerprint_of(config):
            return
        raise StoreError(
            f"{self.path.parent} holds a sweep with a different configuration: "
            f"{describe_difference(old, config)}. Use a new --out, or the same settings to resume."
        )

    def begin_run(
        self, config: Mapping[str, Any], provenance: Mapping[str, Any], cells: Sequence[Mapping[str, Any]], shard: str | None
    ) -> None:
        """Check the config, record the cells (first run) and append a ``runs`` row."""
        self.check_config(config)
        with self.transaction():
            if self.config() is None:
                self.conn.executemany(
                    "INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (c["cell_id"], i, c["corruption"], int(c["severity"]), canonical_json(c.get("params", {})),
                         c.get("family", ""), canonical_json(c.get("node", {})))
                        for i, c in enumerate(cells)
                    ],
                )
            self.conn.execute(
                "INSERT INTO runs (fingerprint, config, provenance, shard, created) VALUES (?, ?, ?, ?, ?)",
                (fingerprint_of(config), canonical_json(config), canonical_json(provenance), shard,
                 str(provenance.get("created", ""))),
            )

    def transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    # -- scores ----------------------------------------------------------------------
    def done_pairs(self) -> set[tuple[str, str]]:
        """Every (clip_id, cell_id) stored without an error.

        Pairs whose row holds an error are not done: a resume retries them (a
        failure may be transient) and the new row replaces the old one.
        """
        return {(a, b) for a, b in self.conn.execute("SELECT clip_id, cell_id FROM scores WHERE error IS NULL")}

    def write_rows(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert a batch of score rows in one transaction; returns the count."""
        values = [tuple(_sql_value(r.get(k)) for k in SCORE_COLUMNS) for r in rows]
        if not values:
            return 0
        marks = ", ".join("?" for _ in SCORE_COLUMNS)
        with self.transaction():
            self.conn.executemany(f"INSERT OR REPLACE INTO scores ({', '.join(SCORE_COLUMNS)}) VALUES ({marks})", values)
        return len(values)

    def cells(self) -> list[dict[str, Any]]:
        """The grid cells in grid order (``params`` and ``node`` decoded)."""
        out = []
        for cell_id, _, corruption, severity, params, family, node in self.conn.execute(
            "SELECT cell_id, position, corruption, severity, params, family, node FROM cells ORDER BY position"
        ):
            out.append({"cell_id": cell_id, "corruption": corruption, "severity": severity,
                        "params": json.loads(params), "family": family, "node": json.loads(node)})
        return out

    def rows(self) -> list[dict[str, Any]]:
        """Every score row, ordered by clip_id then grid order (deterministic)."""
        cur = self.conn.execute(
            f"SELECT {', '.join('s.' + k for k in SCORE_COLUMNS)} FROM scores s "
            "LEFT JOIN cells c ON c.cell_id = s.cell_id ORDER BY s.clip_id, c.position, s.cell_id"
        )
        return [dict(zip(SCORE_COLUMNS, r)) for r in cur]

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0])


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _sql_value(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def export_scores_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write ``scores.csv`` (DESIGN.md columns; floats by ``repr``; ``elapsed_ms`` left out)."""
    p = Path(path)
    tmp = p.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow([_csv_value(row.get(k)) for k in CSV_COLUMNS])
    tmp.replace(p)
    return p
