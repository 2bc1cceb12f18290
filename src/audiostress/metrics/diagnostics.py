"""What ``metrics.json`` says about a sweep besides its metrics: small-n flags, grouped errors, warnings.

- **Small n.** A block is ``small_n`` when either class has fewer than
  :data:`SMALL_N` clips: its bootstrap CI (and, below that, its EER) rests on too
  few clips to be read as a measurement (with 2-3 clips a CI collapses to
  ``[0, 0]``).
- **Grouped errors.** ``error_summary`` groups the per-item errors by their exact
  message, most frequent first, with the first cells and clip ids of each, so that
  400 identical messages read as one line with a count.
- **Warnings.** Strings a user should see before trusting the numbers, such as
  clean scores that look inverted (AUROC below 0.5).
- **Dataset problems.** Rows of the dataset that never became clips are errors of
  every cell (``cell_id "*"``), with the row that named them.

>>> is_small_n(9, 40), is_small_n(10, 10)
(True, False)
>>> group_errors([{"clip_id": "a", "cell_id": "mp3@1", "error": "boom"},
...               {"clip_id": "b", "cell_id": "mp3@1", "error": "boom"}])
[{'error': 'boom', 'count': 2, 'cells': ['mp3@1'], 'clip_ids': ['a', 'b']}]
>>> inverted_warning({"auroc": 0.9, "eer": 0.1}) is None
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "DATASET_CELL",
    "FIRST_IDS",
    "SMALL_N",
    "dataset_problem_errors",
    "group_errors",
    "inverted_warning",
    "is_small_n",
]

#: Fewer clips than this in either class flags a block ``small_n``.
SMALL_N = 10
#: Cells and clip ids listed per grouped error.
FIRST_IDS = 5
#: The ``cell_id`` of an error that belongs to every cell (a dataset row that never became a clip).
DATASET_CELL = "*"


def is_small_n(n_bonafide: int, n_spoof: int) -> bool:
    """True when either class has fewer than :data:`SMALL_N` clips (a missing class included)."""
    return min(int(n_bonafide), int(n_spoof)) < SMALL_N


def group_errors(errors: Iterable[Mapping[str, Any]], first: int = FIRST_IDS) -> list[dict[str, Any]]:
    """``[{error, count, cells, clip_ids}]``: identical messages grouped, most frequent first.

    ``cells`` and ``clip_ids`` are the first ``first`` distinct ones in the order the
    errors are listed (a null clip id, a dataset row without one, is not listed).
    Groups of equal count keep the order their first error appears in.
    """
    groups: dict[str, dict[str, Any]] = {}
    for e in errors:
        message = str(e.get("error"))
        g = groups.setdefault(message, {"error": message, "count": 0, "cells": [], "clip_ids": []})
        g["count"] += 1
        for key, value in (("cells", e.get("cell_id")), ("clip_ids", e.get("clip_id"))):
            if value is not None and len(g[key]) < first and str(value) not in g[key]:
                g[key].append(str(value))
    return sorted(groups.values(), key=lambda g: -g["count"])


def inverted_warning(clean: Mapping[str, Any]) -> str | None:
    """A warning when the clean block's AUROC is below 0.5 or its EER above 0.5, else ``None``."""
    auroc, eer = _number(clean.get("auroc")), _number(clean.get("eer"))
    if not ((auroc is not None and auroc < 0.5) or (eer is not None and eer > 0.5)):
        return None
    shown = ", ".join(f"{name} {value:.3f}" for name, value in (("AUROC", auroc), ("EER", eer)) if value is not None)
    return (
        f"clean scores look inverted ({shown}; a detector that ranks spoof above bona fide has AUROC > 0.5 "
        "and EER < 0.5): check output.fake_index / higher_is_fake in the detector card"
    )


def _number(value: Any) -> float | None:
    """``value`` as a float when it is a finite number (not a bool), else ``None``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def dataset_problem_errors(problems: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One error per dataset row that never became a clip: ``{clip_id, cell_id: "*", error, row}``.

    ``clip_id`` is the clip id the row names (``problem["clip_id"]``) or ``None``;
    ``row`` is where the row is (``file:line`` or a path).

    >>> dataset_problem_errors([{"row": "list.csv:3", "message": "audio file not found: x.wav"}])
    [{'clip_id': None, 'cell_id': '*', 'error': 'dataset row skipped: audio file not found: x.wav', 'row': 'list.csv:3'}]
    """
    out = []
    for p in problems:
        clip_id = p.get("clip_id")
        out.append({
            "clip_id": str(clip_id) if clip_id not in (None, "") else None,
            "cell_id": DATASET_CELL,
            "error": f"dataset row skipped: {p.get('message')}",
            "row": str(p.get("row")) if p.get("row") is not None else None,
        })
    return out
