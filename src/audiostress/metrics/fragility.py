"""Per-clip fragility: the mildest severity of each corruption series that flips a clip's clean decision.

A clip's **decision** is "spoof" when its ``raw_score >= threshold``, at the clean
operating threshold ``clean.threshold`` of metrics.json (the operating point a
deployed detector keeps; the same rule as ``flip_rate``). For each corruption
**series** (a severity table's curve: the cells with an integer severity 1..5 and
the same ``series``, e.g. ``mp3@1 .. mp3@5``; a cell given by explicit parameters is
no severity series and is left out), a clip's mildest flipping severity is the
lowest severity at which the clip was scored and its decision differs from its
clean decision. Severities at which the clip failed are skipped.

The ``fragility`` block of metrics.json (``null`` when the sweep has no clean
threshold or no severity series)::

    {
      "threshold": float,              # clean.threshold, on raw_score
      "series": [str],                 # the severity series, in grid order
      "severities": {series: [int]},   # the severities each series has, ascending
      "clips": {clip_id: {series: int | null}},
      "distribution": {series: {"<severity>": int}},
      "never": {series: int},
      "tested": {series: int},
      "most_fragile": [clip_id],
      "fragility_score": {clip_id: float},
    }

- ``clips``: only the clips that flip in at least one series (a clip absent from
  it flips nowhere); for such a clip, each series it was tested on maps to its
  mildest flipping severity, or ``null`` when no severity of that series flips it.
- ``tested``: clips scored clean and at one or more severities of the series;
  ``distribution``: how many of them first flip at each severity (every severity of
  the series is listed, zeros included; JSON keys are strings); ``never``: how many
  flip at none. ``distribution`` counts plus ``never`` equal ``tested``.
- ``fragility_score``: per listed clip, the mean over its tested series of the
  mildest flipping severity, a series that never flips counting as 6 (one past the
  strongest severity); lower = more fragile.
- ``most_fragile``: the :data:`MOST_FRAGILE` clips with the lowest score, ties
  broken by more series flipped, then by clip id.

>>> from audiostress.metrics._table import build_table
>>> cells = [{"cell_id": "clean", "severity": 0}, {"cell_id": "n@1", "severity": 1, "series": "n"},
...          {"cell_id": "n@2", "severity": 2, "series": "n"}]
>>> rows = [{"clip_id": c, "label": lab, "cell_id": cell, "raw_score": s, "p_fake": 0.5}
...         for c, lab, scores in (("a", "spoof", (2.0, 1.0, -1.0)), ("b", "bonafide", (-2.0, -2.0, -2.0)))
...         for cell, s in zip(("clean", "n@1", "n@2"), scores)]
>>> block = fragility_block(build_table(rows, cells), 0.0)
>>> block["clips"], block["distribution"], block["never"], block["most_fragile"]
({'a': {'n': 2}}, {'n': {'1': 0, '2': 1}}, {'n': 1}, ['a'])
"""

from __future__ import annotations

from typing import Any

from ._table import CLEAN_CELL_ID, Table
from .cross_cell import TABLE_SEVERITIES, table_series

__all__ = ["MOST_FRAGILE", "fragility_block"]

#: Clips listed in ``most_fragile``.
MOST_FRAGILE = 10
#: The score a series that never flips a clip contributes to its ``fragility_score``.
_NEVER = max(TABLE_SEVERITIES) + 1


def _severity_series(table: Table) -> dict[str, dict[int, str]]:
    """``{series: {severity: cell_id}}`` of the table-severity cells, in grid order."""
    out: dict[str, dict[int, str]] = {}
    for cell_id, spec in table.cells.items():
        sev = spec.get("severity")
        if cell_id == CLEAN_CELL_ID or not isinstance(sev, int) or isinstance(sev, bool) or sev not in TABLE_SEVERITIES:
            continue
        series = table_series({**spec, "cell_id": cell_id}, sev)
        if series is not None:
            out.setdefault(series, {})[sev] = cell_id
    return {name: dict(sorted(levels.items())) for name, levels in out.items()}


def fragility_block(table: Table, threshold: float | None, most: int = MOST_FRAGILE) -> dict[str, Any] | None:
    """The ``fragility`` block (see the module docstring); ``None`` without a threshold or a severity series."""
    series = _severity_series(table)
    clean = table.ok.get(CLEAN_CELL_ID, {})
    if threshold is None or not series or not clean:
        return None
    t = float(threshold)
    clean_call = {clip: s.raw_score >= t for clip, s in clean.items()}
    mildest: dict[str, dict[str, int | None]] = {}
    block: dict[str, Any] = {
        "threshold": t,
        "series": list(series),
        "severities": {name: list(levels) for name, levels in series.items()},
        "distribution": {},
        "never": {},
        "tested": {},
    }
    for name, levels in series.items():
        first: dict[str, int | None] = {}
        for sev, cell_id in levels.items():  # mildest first
            for clip, scored in table.ok.get(cell_id, {}).items():
                if clip not in clean_call:
                    continue
                if first.get(clip) is None and (scored.raw_score >= t) != clean_call[clip]:
                    first[clip] = sev
                else:
                    first.setdefault(clip, None)
        counts = dict.fromkeys((str(s) for s in levels), 0)
        for clip, level in first.items():
            mildest.setdefault(clip, {})[name] = level
            if level is not None:
                counts[str(level)] += 1
        block["distribution"][name] = counts
        block["tested"][name] = len(first)
        block["never"][name] = len(first) - sum(counts.values())
    flipping = {clip: per for clip, per in sorted(mildest.items()) if any(v is not None for v in per.values())}
    scores = {clip: sum(_NEVER if v is None else v for v in per.values()) / len(per) for clip, per in flipping.items()}
    order = sorted(flipping, key=lambda c: (scores[c], -sum(v is not None for v in flipping[c].values()), c))
    block["clips"] = flipping
    block["fragility_score"] = scores
    block["most_fragile"] = order[: int(most)]
    return block
