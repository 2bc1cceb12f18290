"""The one score-row schema: a ``ScoreRow`` per (clip, cell) pair.

Every other view of a score row is derived from this dataclass: the SQL
``scores`` table (``sql_columns``), the stored column order (``SCORE_COLUMNS``),
the ``scores.csv`` header (``CSV_COLUMNS``, which drops the timing column) and
the metric table's columns. Add a field here and every view follows.

>>> CSV_COLUMNS[:3]
('clip_id', 'label', 'attack')
>>> "elapsed_ms" in SCORE_COLUMNS and "elapsed_ms" not in CSV_COLUMNS
True
>>> sql_columns()[5]
'severity INTEGER'
>>> CSV_COLUMNS[-2:], sql_columns()[-3:]
(('error', 'note'), ['retries INTEGER DEFAULT 0', 'detect_ms REAL', 'audio_s REAL'])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ScoreRow:
    """One detector score (or failure) for one clip under one grid cell.

    ``severity`` is ``None`` for a cell given by explicit parameters; ``raw_score``
    and ``p_fake`` are ``None`` when ``error`` says why the pair failed.
    ``retries`` counts the extra detector attempts made for this pair (1 when its
    batch failed and it was scored alone) and ``note`` says why, e.g. ``"scored
    alone after the batch failed: RuntimeError: ..."``. Both were added after the
    first stores were written, so they have defaults: a row or mapping without
    them reads as 0 retries and no note.
    """

    clip_id: str
    label: str
    attack: str | None
    cell_id: str
    corruption: str
    severity: int | None
    raw_score: float | None
    p_fake: float | None
    measured_snr_db: float | None
    error: str | None
    elapsed_ms: float
    note: str | None = None
    retries: int = 0
    #: The detector's time for this pair (its share of the call) and the audio seconds it scored, for latency.
    detect_ms: float | None = None
    audio_s: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        """The pair this row belongs to: ``(clip_id, cell_id)``."""
        return (self.clip_id, self.cell_id)

    def as_dict(self) -> dict[str, Any]:
        """The row as a plain dict keyed by ``SCORE_COLUMNS``."""
        return {name: getattr(self, name) for name in SCORE_COLUMNS}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ScoreRow:
        """Build a row from a mapping holding every required ``SCORE_COLUMNS`` key.

        A column with a default (``OPTIONAL_COLUMNS``) may be absent or empty
        (``None``, as an older store reads back): it takes its default.
        """
        missing = [name for name in SCORE_COLUMNS if name not in data and name not in OPTIONAL_COLUMNS]
        if missing:
            raise ValueError(f"score row {dict(data)!r} lacks {missing}; give every column of {SCORE_COLUMNS}")
        values = {name: data[name] for name in SCORE_COLUMNS if name in data}
        for name, default in OPTIONAL_COLUMNS.items():
            if values.get(name) is None:
                values[name] = default
        return cls(**values)


#: Every stored column, in ``ScoreRow`` field order.
SCORE_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ScoreRow))
#: Columns added after the first stores were written, with the value a row without them takes.
#: Their SQL declarations are nullable with a DEFAULT, so ``ALTER TABLE scores ADD COLUMN`` can add them.
OPTIONAL_COLUMNS: dict[str, Any] = {
    f.name: f.default for f in dataclasses.fields(ScoreRow) if f.default is not dataclasses.MISSING
}
#: Columns that carry only timing, not results: left out of scores.csv and of shard comparisons.
TIMING_COLUMNS: tuple[str, ...] = ("elapsed_ms", "detect_ms", "audio_s")
#: Columns stored in SQL only (not in scores.csv): how many extra detector attempts a pair took.
SQL_ONLY_COLUMNS: tuple[str, ...] = ("retries",)
#: The scores.csv columns, in DESIGN.md order (``note`` right after ``error``).
CSV_COLUMNS: tuple[str, ...] = tuple(c for c in SCORE_COLUMNS if c not in TIMING_COLUMNS + SQL_ONLY_COLUMNS)
#: The columns that identify a row (the SQL primary key).
KEY_COLUMNS: tuple[str, ...] = ("clip_id", "cell_id")

# SQL type per annotation (annotations are strings under ``from __future__ import annotations``).
_SQL_TYPES = {"str": "TEXT", "int": "INTEGER", "float": "REAL"}


def _sql_declaration(field: dataclasses.Field[Any]) -> str:
    annotation = str(field.type).replace(" ", "")
    parts = annotation.split("|")
    base = parts[0]
    nullable = "None" in parts[1:]
    if base not in _SQL_TYPES:
        raise TypeError(f"ScoreRow.{field.name}: annotation {field.type!r} has no SQL type; use one of {sorted(_SQL_TYPES)}")
    if field.default is not dataclasses.MISSING and field.default is not None:
        return f"{field.name} {_SQL_TYPES[base]} DEFAULT {field.default!r}"
    null = "" if nullable or field.name in TIMING_COLUMNS or field.name in OPTIONAL_COLUMNS else " NOT NULL"
    return f"{field.name} {_SQL_TYPES[base]}{null}"


def sql_columns() -> list[str]:
    """The SQL column declarations of the ``scores`` table, one per field (``"clip_id TEXT NOT NULL"``).

    A field typed ``X | None`` is nullable; the timing column is nullable too
    (stores written before it was filled leave it empty), and so is a field with
    a default (``OPTIONAL_COLUMNS``), declared with that default so that an older
    store can gain it with ``ALTER TABLE scores ADD COLUMN <declaration>``.
    """
    return [_sql_declaration(f) for f in dataclasses.fields(ScoreRow)]
