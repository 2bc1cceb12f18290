"""The ``coverage`` block of metrics.json: scored, failed, skipped and missing (clip, cell) pairs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._table import CLEAN_CELL_ID, Table

__all__ = ["coverage_block", "dataset_problems"]


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0 else None


def dataset_problems(provenance: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """``provenance["dataset_problems"]``: the dataset rows that never became clips (``[]`` when absent)."""
    problems = provenance.get("dataset_problems")
    return [p for p in problems if isinstance(p, Mapping)] if isinstance(problems, list) else []


def _clips_expected(provenance: Mapping[str, Any], skipped: int) -> int | None:
    """The dataset's clips (``provenance["dataset"]["n"]``) plus its ``skipped`` rows, when recorded."""
    dataset = provenance.get("dataset")
    n = _count(dataset.get("n")) if isinstance(dataset, Mapping) else None
    return n + skipped if n is not None else None


def coverage_block(table: Table, provenance: Mapping[str, Any]) -> dict[str, Any]:
    """Scored / failed / skipped / missing (clip, cell) pairs.

    Clips are counted from the rows; when the provenance records the dataset's
    size, pairs are expected for that many clips plus the dataset rows that never
    became clips (``clips_expected``), so clips with no row at all (another
    shard's, or never reached) count as missing and skipped rows as skipped.
    """
    skipped = len(dataset_problems(provenance))
    clips_expected = _clips_expected(provenance, skipped)
    clips = len(table.labels)
    n_cells = len(table.cells)
    ok = sum(len(v) for v in table.ok.values())
    failed = len(table.errors)
    expected = max(clips + skipped, clips_expected or 0) * n_cells
    return {
        "clips": clips,
        "clips_expected": clips_expected,
        "clips_skipped": skipped,
        "cells": n_cells,
        "pairs_expected": expected,
        "pairs_scored": ok,
        "pairs_failed": failed,
        "pairs_skipped": skipped * n_cells,
        "pairs_missing": expected - ok - failed - skipped * n_cells,
        "pairs_retried": table.retried,
        "fraction_scored": ok / expected if expected else None,
        "clips_failed_clean": table.error_counts.get(CLEAN_CELL_ID, 0),
    }
