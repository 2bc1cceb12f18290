"""Evaluate gates on a finished sweep: every gate is judged, then one :class:`GateFailure` lists each failure.

Decisions (``ci``):

- ``"point"`` (default): the point estimate must satisfy the gate;
- ``"strict"``: the whole 95% CI must satisfy it (release builds);
- ``"lenient"``: fails only when the whole CI violates it (small or noisy sets).

A metric without a CI is judged on its point value in every mode, and the output
says so. A cell with fewer than ``min_n`` paired clips (default :data:`MIN_N`)
fails as "not enough evidence". A baseline gate judges the change ``new - baseline``
(paired on common clips where possible, see :mod:`.regression`) against its
tolerance; a run that beats the baseline by more than the tolerance warns that the
baseline may be stale (:class:`StaleBaselineWarning`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from .baseline import Baseline, identity_mismatch, identity_of
from .grammar import Gate, GateError, parse_gate
from .lookup import LATER, Reading, blocks_of, read_cell, read_sweep, validate
from .regression import Change, compare
from .scores import ScoreTable, scores_of

__all__ = ["CI_MODES", "MIN_N", "CheckReport", "GateFailure", "StaleBaselineWarning", "TargetResult", "check", "flatten_gates"]

CI_MODES = ("point", "strict", "lenient")
#: Fewest paired clips a cell needs before a gate on it is judged at all.
MIN_N = 30


class StaleBaselineWarning(UserWarning):
    """The run beats its baseline by more than the gate's tolerance: the baseline may be stale."""


@dataclass
class TargetResult:
    """One gate judged on one cell (``cell`` ``None``: a sweep-level key)."""

    gate: Gate
    cell: str | None
    passed: bool
    reading: Reading = field(default_factory=lambda: Reading(False))
    bound: float | None = None
    observed: float | None = None
    ci: tuple[float, float] | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    change: Change | None = None


@dataclass
class CheckReport:
    """Every gate's results on one sweep; ``passed`` when no target failed."""

    result: Any
    targets: list[TargetResult]
    ci: str
    min_n: int
    baseline: Baseline | None = None
    warnings: list[str] = field(default_factory=list)
    _scores: dict[str, ScoreTable] = field(default_factory=dict, repr=False)

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.targets)

    @property
    def failures(self) -> list[TargetResult]:
        return [t for t in self.targets if not t.passed]

    def scores(self) -> ScoreTable | None:
        """The sweep's per-clip scores (read once), or ``None`` without a readable scores.csv."""
        if "table" not in self._scores:
            try:
                self._scores["table"] = scores_of(self.result)
            except (OSError, ValueError, KeyError):
                return None
        return self._scores["table"]

    def table(self) -> str:
        from .report import markdown_table

        return markdown_table(self)

    def failure_text(self) -> str:
        from .report import failure_text

        return failure_text(self)


class GateFailure(AssertionError):
    """Raised by ``SweepResult.check`` when any gate fails; ``report`` holds every result."""

    def __init__(self, report: CheckReport) -> None:
        super().__init__(report.failure_text())
        self.report = report


def flatten_gates(gates: Iterable[Any]) -> list[Gate]:
    """Gate strings (or :class:`Gate` objects), with tuples and lists such as ``ARTIFACTBENCH`` spread out."""
    out: list[Gate] = []
    for item in gates:
        if isinstance(item, (list, tuple)):
            out.extend(flatten_gates(item))
        else:
            out.append(parse_gate(item))
    return out


def _decide(gate: Gate, observed: float, ci: tuple[float, float] | None, bound: float, mode: str) -> tuple[bool, str | None]:
    if mode == "point":
        return gate.holds(observed, bound), None
    if ci is None:
        return gate.holds(observed, bound), f"no 95% CI for {gate.metric}: ci={mode} judged the point value"
    ends = [gate.holds(ci[0], bound), gate.holds(ci[1], bound)]
    return (all(ends) if mode == "strict" else any(ends)), None


def _not_in_sweep(gate: Gate) -> str:
    if gate.metric in LATER:
        return f"{gate.metric} is not in this sweep ({LATER[gate.metric]})"
    if gate.key.startswith("codec_pair."):
        return f"{gate.metric} is not in this sweep (the grid declares no codec_pair cells)"
    return f"{gate.metric} is not in this sweep"


def _readings(gate: Gate, metrics: Mapping[str, Any]) -> list[tuple[str | None, Reading]] | str:
    if gate.sweep_level:
        return [(None, read_sweep(metrics, gate.key))]
    blocks = blocks_of(metrics)
    pattern = gate.cells or "*"
    matched = [cid for cid in blocks if fnmatchcase(cid, pattern)]
    if not matched:
        return f"[{pattern}] matches no cell; cells: {', '.join(blocks) or 'none'}"
    readings: list[tuple[str | None, Reading]] = [(cid, read_cell(blocks[cid], gate.metric)) for cid in matched]
    present = [r for r in readings if r[1].present]
    if not present:
        return _not_in_sweep(gate)
    wildcard = any(ch in pattern for ch in "*?[")
    return present if wildcard else readings


def _judge(
    gate: Gate, cell: str | None, reading: Reading, report: CheckReport, mismatch: str | None
) -> TargetResult:
    target = TargetResult(gate, cell, False, reading)
    if not reading.present:
        target.reason = _not_in_sweep(gate)
        return target
    if reading.value is None:
        target.reason = f"{gate.metric} is undefined here ({reading.note})"
        return target
    if reading.n is not None and reading.n < report.min_n:
        target.reason = f"not enough evidence: n={reading.n} < min_n={report.min_n} (lower min_n= to judge it anyway)"
        target.observed, target.ci = reading.value, reading.ci
        return target
    if not gate.uses_baseline:
        target.observed, target.ci, target.bound = reading.value, reading.ci, gate.value
        target.passed, note = _decide(gate, reading.value, reading.ci, float(gate.value or 0.0), report.ci)
        target.notes += [note] if note else []
        return target
    base = report.baseline
    if base is None:
        raise GateError(f"Gate {gate.text!r} compares with a baseline; pass baseline=FILE (or use the robustness fixture)")
    if mismatch is not None:
        target.reason = f"baseline {base.label} was made for {mismatch}; it is not compared (refresh it if that change is intended)"
        return target
    change = compare(gate.metric, cell, report.result.metrics, report.scores(), base.metrics, base.scores)
    target.change = change
    if change.change is None or change.base_value is None:
        target.reason = change.note or f"the baseline has no {gate.metric}"
        return target
    tolerance = abs(change.base_value) * gate.offset / 100.0 if gate.relative else gate.offset
    target.observed, target.ci, target.bound = change.change.point, change.change.ci95, tolerance
    target.passed, note = _decide(gate, change.change.point, change.change.ci95, tolerance, report.ci)
    target.notes += [n for n in (change.note, note) if n]
    beaten = change.change.point < -abs(tolerance) if gate.op in ("<", "<=") else change.change.point > abs(tolerance)
    if target.passed and beaten:
        where = f" in {cell}" if cell else ""
        report.warnings.append(
            f"{gate.text}{where}: this run beats the baseline by {abs(change.change.point):.4g}, more than the tolerance "
            f"{abs(tolerance):.4g}; baseline may be stale (refresh it with --audiostress-update)"
        )
    return target


def _as_baseline(baseline: Any) -> Baseline | None:
    if baseline is None or isinstance(baseline, Baseline):
        return baseline
    if isinstance(baseline, (str, os.PathLike)):
        path = Path(baseline)
        if path.is_dir():
            raise GateError(f"`baseline` {path} is a folder; pass a baseline file, or load_results({str(path)!r}) for a sweep")
        return Baseline.load(path)
    if hasattr(baseline, "metrics") and hasattr(baseline, "to_pandas"):
        return Baseline.from_result(baseline)
    raise GateError(f"Expected `baseline` a baseline file, a SweepResult or a Baseline, got {type(baseline).__name__}")


def check(result: Any, *gates: Any, ci: str | None = None, baseline: Any = None, min_n: int | None = None) -> CheckReport:
    """Judge every gate on ``result`` (a ``SweepResult``); returns the report, or raises :class:`GateFailure`.

    Usage problems (a malformed gate, an unknown metric, a bad ``ci``) raise
    :class:`~.grammar.GateError` before anything is judged.
    """
    __tracebackhide__ = True  # a failed gate is reported as the calling test's own failure
    mode = "point" if ci is None else ci
    if mode not in CI_MODES:
        raise GateError(f"Expected `ci` one of {', '.join(CI_MODES)}, got {ci!r}")
    limit = MIN_N if min_n is None else min_n
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise GateError(f"Expected `min_n` an integer >= 0, got {min_n!r}")
    parsed = flatten_gates(gates)
    if not parsed:
        raise GateError("check() needs at least one gate, e.g. 'delta_eer[mp3@*] <= 0.05'")
    for gate in parsed:
        validate(gate, result.metrics)
    report = CheckReport(result, [], mode, limit, _as_baseline(baseline))
    if report.baseline is None and any(g.uses_baseline for g in parsed):
        first = next(g for g in parsed if g.uses_baseline)
        raise GateError(f"Gate {first.text!r} compares with a baseline; pass baseline=FILE (or use the robustness fixture)")
    mismatch = identity_mismatch(report.baseline.identity, identity_of(result)) if report.baseline is not None else None
    for gate in parsed:
        found = _readings(gate, result.metrics)
        if isinstance(found, str):
            report.targets.append(TargetResult(gate, None, False, reason=found))
            continue
        report.targets.extend(_judge(gate, cell, reading, report, mismatch) for cell, reading in found)
    for message in report.warnings:
        warnings.warn(StaleBaselineWarning(message), stacklevel=2)
    if not report.passed:
        raise GateFailure(report)
    return report
