"""What a gate check prints: the Markdown table of every target, and the failure text.

Each failure shows the observed value, its 95% CI and n, the gate and the baseline,
the worst clips with their clean → corrupted ``p_fake``, the ``audiostress replay``
command that writes the audio of the worst one, and the report path.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .scores import ScoreTable

# ``CheckReport`` and ``TargetResult`` (gates.py) are used by attribute only: gates imports this module.
CheckReport = Any
TargetResult = Any

__all__ = ["TABLE_COLUMNS", "WORST_CLIPS", "WorstClip", "failure_text", "markdown_table", "replay_command", "rows_markdown", "table_rows", "worst_clips"]

#: Clips listed under each failed gate.
WORST_CLIPS = 3


@dataclass(frozen=True)
class WorstClip:
    clip_id: str
    label: str
    cell: str
    p_before: float | None  # clean p_fake (None for a clean-cell gate)
    p_after: float


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _ci(ci: tuple[float, float] | None, signed: bool = False) -> str:
    return f"[{_fmt(ci[0], signed)}, {_fmt(ci[1], signed)}]" if ci else "n/a"


def worst_clips(scores: ScoreTable, cell: str, codec_cells: list[str] | None = None, k: int = WORST_CLIPS) -> list[WorstClip]:
    """The ``k`` clips that moved furthest towards the wrong answer in ``cell`` (bona fide up, spoof down).

    For the clean cell: the clips scored most wrongly. For the codec-pair drift
    (``codec_cells``): the clips with the largest max − min ``p_fake`` over those cells.
    """
    if codec_cells:
        present = [c for c in codec_cells if c in scores]
        if len(present) < 2:
            return []
        common = set.intersection(*(set(scores[c]) for c in present))
        spans = []
        for clip in common:
            ps = {c: scores[c][clip].p for c in present}
            lo, hi = min(ps, key=ps.__getitem__), max(ps, key=ps.__getitem__)
            label = "spoof" if scores[present[0]][clip].spoof else "bonafide"
            spans.append((ps[hi] - ps[lo], clip, WorstClip(clip, label, hi if label == "bonafide" else lo, ps[lo], ps[hi])))
        return [w for _, _, w in sorted(spans, key=lambda s: (-s[0], s[1]))[:k]]
    rows = scores.get(cell) or {}
    clean = scores.get("clean") or {}
    ranked = []
    for clip, s in rows.items():
        before = clean[clip].p if cell != "clean" and clip in clean else None
        if cell != "clean" and before is None:
            continue
        wrongness = (s.p - (before or 0.0)) if not s.spoof else ((before if before is not None else 1.0) - s.p)
        ranked.append((wrongness, clip, WorstClip(clip, "spoof" if s.spoof else "bonafide", cell, before, s.p)))
    return [w for _, _, w in sorted(ranked, key=lambda r: (-r[0], r[1]))[:k]]


def replay_command(run_dir: Path, clip: WorstClip) -> str:
    """The ``audiostress replay`` command that writes the exact audio the detector scored for the clip."""
    stem = re.sub(r"[^\w.-]+", "_", f"{clip.clip_id}__{clip.cell}") + ".wav"
    args = ["audiostress", "replay", str(run_dir), "--clip-id", clip.clip_id, "--cell-id", clip.cell, "-o", stem]
    return " ".join(shlex.quote(a) for a in args)


def report_path(run_dir: Path) -> Path:
    for name in ("report.html", "summary.md", "metrics.json"):
        if (run_dir / name).is_file():
            return run_dir / name
    return run_dir


def _where(target: TargetResult) -> str:
    if target.cell is not None:
        return target.cell
    return "(sweep)" if target.gate.sweep_level else f"[{target.gate.cells or '*'}]"


def _value_cells(target: TargetResult) -> tuple[str, str, str]:
    """(value, CI, baseline) columns of one target."""
    change = target.change
    if change is not None and change.change is not None:
        value = f"{_fmt(change.new_value)} ({_fmt(change.change.point, True)})"
        return value, _ci(change.change.ci95, True), _fmt(change.base_value)
    observed = target.observed if target.observed is not None else target.reading.value
    interval = target.ci if target.ci is not None else target.reading.ci
    return _fmt(observed), _ci(interval), "—"


#: Columns of the table, in order.
TABLE_COLUMNS = ("gate", "cell", "value", "ci", "n", "baseline", "result")
_HEADERS = {"ci": "95% CI"}


def table_rows(report: CheckReport) -> list[dict[str, str]]:
    """One row per (gate, cell) as text: value (and change against the baseline), 95% CI, n, baseline, result."""
    rows = []
    for t in report.targets:
        value, ci, base = _value_cells(t)
        n = str(t.reading.n) if t.reading.n is not None else "—"
        rows.append(dict(zip(TABLE_COLUMNS, (t.gate.text, _where(t), value, ci, n, base, "pass" if t.passed else "FAIL"))))
    return rows


def rows_markdown(rows: list[dict[str, str]], columns: tuple[str, ...] = TABLE_COLUMNS) -> str:
    """Rows of :func:`table_rows` (plus any extra columns named) as a Markdown table; failures in bold."""
    def cell(row: dict[str, str], col: str) -> str:
        text = str(row.get(col, "")).replace("|", "\\|")
        if col == "gate":
            return f"`{text}`"
        return "**FAIL**" if col == "result" and text == "FAIL" else text

    lines = ["| " + " | ".join(_HEADERS.get(c, c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r, c) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def markdown_table(report: CheckReport) -> str:
    """The report's :func:`table_rows` as a Markdown table."""
    return rows_markdown(table_rows(report))


def _describe(t: TargetResult, report: CheckReport) -> list[str]:
    r = t.reading
    n = f"n={r.n}" if r.n is not None else "n=n/a"
    lines = []
    change = t.change
    if change is not None and change.change is not None:
        paired = f"{change.change.n} common clips, paired" if change.paired else "not paired"
        lines.append(
            f"  {_where(t)}: {t.gate.metric} = {_fmt(change.new_value)} vs baseline {_fmt(change.base_value)}: "
            f"change {_fmt(change.change.point, True)}, 95% CI {_ci(change.change.ci95, True)} ({paired}; {n}); "
            f"allowed change {t.gate.op} {_fmt(t.bound, True)}"
        )
        if change.mcnemar is not None:
            m = change.mcnemar
            lines.append(f"  decision flips: {m.b} clips now wrong, {m.c} now right; exact McNemar p = {m.p_value:.3g}")
    elif r.value is not None or t.observed is not None:
        value = t.observed if t.observed is not None else r.value
        ci = t.ci if t.ci is not None else r.ci
        lines.append(f"  {_where(t)}: {t.gate.metric} = {_fmt(value)}, 95% CI {_ci(ci)}, {n}; gate {t.gate.op} {_fmt(t.bound)}")
    if t.reason:
        lines.append(f"  {_where(t)}: {t.reason}" if not lines else f"  reason: {t.reason}")
    lines += [f"  note: {note}" for note in t.notes]
    return lines


def _worst(t: TargetResult, report: CheckReport) -> list[str]:
    scores = report.scores()
    if scores is None or (t.cell is None and not t.gate.key.startswith("codec_pair.")):
        return []
    codec = None
    if t.cell is None:
        block = report.result.metrics.get("codec_pair") or {}
        codec = [str(c) for c in block.get("cells") or []]
    worst = worst_clips(scores, t.cell or "", codec)
    if not worst:
        return []
    kind = "min → max p_fake over the codec-pair cells" if codec else ("p_fake" if t.cell == "clean" else "clean → corrupted p_fake")
    lines = [f"  worst clips ({kind}):"]
    width = max(len(w.clip_id) for w in worst)
    for w in worst:
        before = f"{w.p_before:.3f} → " if w.p_before is not None else ""
        lines.append(f"    {w.clip_id:<{width}}  {w.label:<8}  {before}{w.p_after:.3f}" + (f"  ({w.cell})" if codec else ""))
    lines.append(f"  replay the worst: {replay_command(Path(report.result.out_dir), worst[0])}")
    return lines


def failure_text(report: CheckReport) -> str:
    """The message of a failed check: a header, then each failed target with its evidence, then the report path."""
    failed = report.failures
    gates = {t.gate.text for t in report.targets}
    bad = {t.gate.text for t in failed}
    out = [f"{len(bad)} of {len(gates)} gates failed (ci={report.ci}, min_n={report.min_n}) on {report.result.out_dir}"]
    seen: set[str] = set()
    for t in failed:
        if t.gate.text not in seen:
            seen.add(t.gate.text)
            out.append(f"FAIL {t.gate.text}")
            if t.gate.uses_baseline and report.baseline is not None:
                out.append(f"  baseline: {report.baseline.label}")
        out += _describe(t, report)
        out += _worst(t, report)
    out += [f"warning: {w}" for w in report.warnings]
    out.append(f"report: {report_path(Path(report.result.out_dir))}")
    return "\n".join(out)
