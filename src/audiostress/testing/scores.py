"""Per-clip scores of one sweep as ``{cell_id: {clip_id: ClipScore}}``, and their compact gzip+base64 form.

The baseline file carries this table so that regression gates can be paired clip by
clip; the failure output reads it to name the worst clips.
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ClipScore", "ScoreTable", "decode_scores", "encode_scores", "scores_of"]

_COLUMNS = ("clip_id", "label", "cell_id", "raw_score", "p_fake")


@dataclass(frozen=True)
class ClipScore:
    spoof: bool
    raw: float
    p: float


#: cell_id -> clip_id -> score (only rows scored without error).
ScoreTable = dict[str, dict[str, ClipScore]]


def _table(rows: Iterable[Mapping[str, Any]]) -> ScoreTable:
    out: ScoreTable = {}
    for row in rows:
        raw, p = row.get("raw_score"), row.get("p_fake")
        try:
            raw_f, p_f = float(raw), float(p)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if not (math.isfinite(raw_f) and math.isfinite(p_f)) or (row.get("error") not in (None, "")):
            continue
        label = str(row.get("label", "")).strip().lower()
        out.setdefault(str(row["cell_id"]), {})[str(row["clip_id"])] = ClipScore(label == "spoof", raw_f, p_f)
    return out


def scores_of(result: Any) -> ScoreTable:
    """The scored rows of a ``SweepResult`` (from its scores.csv)."""
    frame = result.to_pandas()
    records = frame[[c for c in (*_COLUMNS, "error") if c in frame.columns]].astype(object)
    records = records.where(records.notna(), None)
    return _table(records.to_dict("records"))


def encode_scores(table: ScoreTable) -> str:
    """The table as CSV (floats by ``repr``), gzipped (mtime 0, so equal tables give equal text) and base64-encoded."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(_COLUMNS)
    for cell_id in sorted(table):
        for clip_id in sorted(table[cell_id]):
            s = table[cell_id][clip_id]
            writer.writerow((clip_id, "spoof" if s.spoof else "bonafide", cell_id, repr(s.raw), repr(s.p)))
    packed = gzip.compress(buf.getvalue().encode("utf-8"), compresslevel=9, mtime=0)
    return base64.b64encode(packed).decode("ascii")


def decode_scores(text: str) -> ScoreTable:
    """Inverse of :func:`encode_scores`; raises ``ValueError`` on text that is not such a table."""
    try:
        raw = gzip.decompress(base64.b64decode(text.encode("ascii"), validate=True)).decode("utf-8")
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"baseline scores are not gzip+base64 CSV ({exc}); rewrite the baseline with --audiostress-update") from exc
    return _table(csv.DictReader(io.StringIO(raw)))
