"""Which metrics a gate may name, and reading one value (with its CI and n) out of metrics.json.

Per-cell metrics are the entries of :data:`audiostress.metrics.cell_metrics.METRICS`,
every numeric key the sweep's clean and cell blocks actually hold, the metrics that
later versions add (:data:`LATER`, so a gate on them fails with a reason instead of a
usage error) and the complements in :data:`DERIVED` (``tpr_* = 1 - fnr_*``).
Sweep-level keys are ``block.key`` for each numeric key of a top-level block
(``codec_pair.mean``, ``coverage.fraction_scored``, ...) plus ``codec_pair.mean`` and
``codec_pair.max`` always, and the aliases of :data:`~.grammar.SWEEP_ALIASES`.
A metric's CI is the block's ``<metric>_ci95`` when present.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .grammar import SWEEP_ALIASES, Gate, GateError

__all__ = ["DERIVED", "LATER", "Reading", "blocks_of", "cell_metric_names", "read_cell", "read_sweep", "sweep_keys", "validate"]

#: Metrics computed as ``1 - <other>`` (their CI is the complement's, flipped).
DERIVED: dict[str, str] = {"tpr_at_threshold": "fnr_at_threshold", "tpr_at_clean_threshold": "fnr_at_clean_threshold"}
#: Metrics a gate may name before every sweep has them, with what a sweep needs to have them.
LATER: dict[str, str] = {
    "fpr_at_threshold": "needs output.threshold in the card",
    "fnr_at_threshold": "needs output.threshold in the card",
    "tpr_at_threshold": "needs output.threshold in the card",
    "accuracy_at_threshold": "needs output.threshold in the card",
    "cllr": "needs an audiostress version that writes cllr into metrics.json",
}
#: Top-level metrics.json blocks that are not sweep-level metrics.
_NOT_METRIC_BLOCKS = ("clean", "cells", "provenance", "settings", "errors", "per_attack", "per_attack_delta", "corruption_errors")
_ALWAYS_SWEEP = ("codec_pair.mean", "codec_pair.max", "codec_pair.n")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def blocks_of(metrics: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """``{"clean": clean block, cell_id: cell block, ...}`` in grid order."""
    out: dict[str, Mapping[str, Any]] = {}
    if isinstance(metrics.get("clean"), Mapping):
        out["clean"] = metrics["clean"]
    for cell in metrics.get("cells") or []:
        if isinstance(cell, Mapping) and cell.get("cell_id") not in (None, "clean"):
            out[str(cell["cell_id"])] = cell
    return out


def cell_metric_names(metrics: Mapping[str, Any]) -> set[str]:
    from ..metrics.cell_metrics import METRICS

    names = {m.name for m in METRICS} | set(LATER) | set(DERIVED)
    for block in blocks_of(metrics).values():
        names.update(k for k, v in block.items() if _is_number(v))
    return names


def sweep_keys(metrics: Mapping[str, Any]) -> set[str]:
    keys = set(_ALWAYS_SWEEP) | set(SWEEP_ALIASES)
    for name, block in metrics.items():
        if name in _NOT_METRIC_BLOCKS or not isinstance(block, Mapping):
            continue
        keys.update(f"{name}.{k}" for k, v in block.items() if _is_number(v) or v is None)
    return keys


def validate(gate: Gate, metrics: Mapping[str, Any]) -> None:
    """Raise :class:`GateError` when the gate names a metric no sweep of this kind can have."""
    if gate.sweep_level:
        allowed = sweep_keys(metrics)
        if gate.metric not in allowed:
            raise GateError(f"Gate {gate.text!r}: unknown sweep-level metric {gate.metric!r}; allowed: {', '.join(sorted(allowed))}")
        return
    allowed = cell_metric_names(metrics)
    if gate.metric not in allowed:
        raise GateError(
            f"Gate {gate.text!r}: unknown metric {gate.metric!r}; per-cell metrics: {', '.join(sorted(allowed))}; "
            f"sweep-level: {', '.join(sorted(sweep_keys(metrics)))}"
        )


@dataclass(frozen=True)
class Reading:
    """One metric in one block: ``present`` False when the block lacks the key entirely."""

    present: bool
    value: float | None = None
    ci: tuple[float, float] | None = None
    n: int | None = None
    note: str | None = None


def _interval(value: Any) -> tuple[float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) for v in value):
        return float(value[0]), float(value[1])
    return None


def read_cell(block: Mapping[str, Any], metric: str) -> Reading:
    """``metric`` of one clean/cell block; a :data:`DERIVED` metric is computed from its complement."""
    n = block.get("n") if _is_number(block.get("n")) else None
    source = DERIVED.get(metric, metric)
    # A threshold metric is written as null when the card declares no threshold: that is "not in this sweep".
    if source not in block or (block.get(source) is None and metric in LATER):
        return Reading(False, n=n)
    value = block.get(source)
    ci = _interval(block.get(f"{source}_ci95"))
    if not _is_number(value):
        return Reading(True, None, None, n, block.get("note") or "undefined in this block")
    number = float(value)  # type: ignore[arg-type]  # checked by _is_number
    if metric in DERIVED:
        return Reading(True, 1.0 - number, (1.0 - ci[1], 1.0 - ci[0]) if ci else None, n)
    return Reading(True, number, ci, n)


def read_sweep(metrics: Mapping[str, Any], key: str) -> Reading:
    """A sweep-level ``block.key``; its n is the block's ``n`` (else the sweep's clip count)."""
    name, _, sub = SWEEP_ALIASES.get(key, key).partition(".")
    block = metrics.get(name)
    coverage = _mapping(metrics.get("coverage"))
    clips = coverage.get("clips") if _is_number(coverage.get("clips")) else None
    if not isinstance(block, Mapping) or sub not in block:
        return Reading(False, n=clips)
    n = block.get("n") if _is_number(block.get("n")) else clips
    value = block.get(sub)
    if not _is_number(value):
        return Reading(True, None, None, n, block.get("note") or "undefined in this sweep")
    return Reading(True, float(value), _interval(block.get(f"{sub}_ci95")), n)  # type: ignore[arg-type]
