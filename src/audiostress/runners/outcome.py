"""How a finished sweep turned out: failures against ``--max-errors``, grouped failures, warnings.

Exit codes of ``audiostress sweep`` (the CLI maps them; the library returns or raises):

- **0**: every pair scored, or the failed pairs are within ``max_errors``;
- **1**: the sweep finished but more pairs failed than ``max_errors`` allows;
- **2**: refused or aborted before or during the work (usage, configuration,
  preflight, lock, store errors): one line, no traceback.

``max_errors`` is a count (``5``) or a share of the sweep's pairs (``"2%"``);
the default ``0`` accepts no failure.

>>> parse_max_errors("2.5%"), parse_max_errors(3), parse_max_errors(None)
(('share', 0.025), ('count', 3), ('count', 0))
>>> too_many_errors(failed=3, total=200, limit=parse_max_errors("2%"))
False
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

#: Clips and cells an error group lists before "...".
GROUP_IDS = 5
#: Error groups the summary shows.
TOP_GROUPS = 5

_SHARE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def parse_max_errors(value: int | str | None) -> tuple[str, float]:
    """``N`` -> ``("count", N)``, ``"P%"`` -> ``("share", P / 100)``; ``None`` is ``("count", 0)``."""
    if value is None:
        return ("count", 0)
    if isinstance(value, bool):
        raise ValueError(f"Expected --max-errors as a count N or a share P%, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"Expected --max-errors >= 0, got {value}")
        return ("count", value)
    text = str(value).strip()
    if text.isdigit():
        return ("count", int(text))
    m = _SHARE_RE.match(text)
    if m and float(m.group(1)) <= 100:
        return ("share", float(m.group(1)) / 100)
    raise ValueError(f"Expected --max-errors as a count N (e.g. 10) or a share P% in 0..100% (e.g. 2%), got {value!r}")


def too_many_errors(*, failed: int, total: int, limit: tuple[str, float]) -> bool:
    """Whether ``failed`` of ``total`` pairs is beyond ``limit`` (from ``parse_max_errors``)."""
    kind, value = limit
    if kind == "count":
        return failed > value
    return failed > value * max(total, 0)


def failed_pairs(metrics: Mapping[str, Any]) -> tuple[int, int]:
    """``(failed, total)`` pairs of a metrics.json (``coverage``; dataset problems are not pairs)."""
    coverage = metrics.get("coverage") or {}
    failed = int(coverage.get("pairs_failed") or 0)
    total = int(coverage.get("pairs_expected") or 0) or failed + int(coverage.get("pairs_scored") or 0)
    return failed, total


def error_groups(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """metrics.json ``error_summary`` when present, else the same grouping of ``errors``.

    Each group: ``{"error", "count", "cells", "clip_ids"}`` (first ``GROUP_IDS``), most frequent first.
    """
    summary = metrics.get("error_summary")
    if isinstance(summary, list):
        return [dict(g) for g in summary]
    return group_errors(metrics.get("errors") or [])


def group_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Group error entries by message (the fallback when metrics.json has no ``error_summary``)."""
    groups: dict[str, dict[str, Any]] = {}
    for entry in errors:
        message = str(entry.get("error") or entry.get("message") or "unknown error")
        group = groups.setdefault(message, {"error": message, "count": 0, "cells": [], "clip_ids": []})
        group["count"] += 1
        for key, field in (("cells", "cell_id"), ("clip_ids", "clip_id")):
            value = entry.get(field)
            if value is not None and value not in group[key] and len(group[key]) < GROUP_IDS:
                group[key].append(value)
    return sorted(groups.values(), key=lambda g: -g["count"])


def format_groups(groups: Sequence[Mapping[str, Any]], top: int = TOP_GROUPS) -> list[str]:
    """One line per group: ``12 x <message> (cells mp3@1, ...; clips a, b, ...)``."""
    lines = []
    for g in list(groups)[:top]:
        where = []
        if g.get("cells"):
            where.append("cells " + ", ".join(map(str, g["cells"])))
        if g.get("clip_ids"):
            where.append("clips " + ", ".join(map(str, g["clip_ids"])))
        suffix = f" ({'; '.join(where)})" if where else ""
        lines.append(f"{g.get('count', 0)} x {g.get('error', '')}{suffix}")
    if len(groups) > top:
        lines.append(f"... and {len(groups) - top} more kinds of failure (metrics.json `errors`)")
    return lines


def sweep_warnings(metrics: Mapping[str, Any]) -> list[str]:
    """metrics.json ``warnings``, plus an inverted-output warning when clean AUROC < 0.5 and none says so."""
    found = [str(w) for w in metrics.get("warnings") or []]
    auroc = (metrics.get("clean") or {}).get("auroc")
    if isinstance(auroc, (int, float)) and auroc < 0.5 and not any("auroc" in w.lower() for w in found):
        found.append(
            f"clean AUROC is {auroc:.3f} (< 0.5): the detector ranks bona fide above fake; "
            "`output.fake_index` or `output.higher_is_fake` is probably inverted"
        )
    return found
