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

    @property
    def key(self) -> tuple[str, str]:
        """The pair this row belongs to: ``(clip_id, cell_id)``."""
        return (self.clip_id, self.cell_id)

    def as_dict(self) -> dict[str, Any]:
        """The row as a plain dict keyed by ``SCORE_COLUMNS``."""
        return {name: getattr(self, name) for name in SCORE_COLUMNS}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ScoreRow:
        """Build a row from a mapping holding every ``SCORE_COLUMNS`` key."""
        missing = [name for name in SCORE_COLUMNS if name not in data]
        if missing:
            raise ValueError(f"score row {dict(data)!r} lacks {missing}; give every column of {SCORE_COLUMNS}")
        return cls(**{name: data[name] for name in SCORE_COLUMNS})


#: Every stored column, in ``ScoreRow`` field order.
SCORE_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ScoreRow))
#: Columns that carry only timing, not results: left out of scores.csv and of shard comparisons.
TIMING_COLUMNS: tuple[str, ...] = ("elapsed_ms",)
#: The scores.csv columns, in DESIGN.md order.
CSV_COLUMNS: tuple[str, ...] = tuple(c for c in SCORE_COLUMNS if c not in TIMING_COLUMNS)
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
    null = "" if nullable or field.name in TIMING_COLUMNS else " NOT NULL"
    return f"{field.name} {_SQL_TYPES[base]}{null}"


def sql_columns() -> list[str]:
    """The SQL column declarations of the ``scores`` table, one per field (``"clip_id TEXT NOT NULL"``).

    A field typed ``X | None`` is nullable; the timing column is nullable too
    (stores written before it was filled leave it empty).
    """
    return [_sql_declaration(f) for f in dataclasses.fields(ScoreRow)]
