"""``summary.md``: a compact Markdown summary for CI logs and PR comments.

User strings are made inert for Markdown renderers that also render HTML:
``|`` and newlines are escaped (they would break the table) and ``<``, ``>``,
``&`` are HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..metrics._atomic import write_atomic
from ..metrics.diagnostics import SMALL_N
from .load import Sweep
from .run_info import corrupt_rate_text, detector_input_text
from .tables import SMALL_N_MARK, codec_pair, coverage_text, fmt_ci, fmt_num, ranking, worst_cells

#: Cells listed per sweep (worst first); the full table is in report.html.
MAX_CELLS = 12


def _mark(block: dict[str, Any]) -> str:
    return f" {SMALL_N_MARK}" if block.get("small_n") is True else ""


def md(value: Any) -> str:
    """A user string safe inside a Markdown table cell."""
    text = html.escape("" if value is None else str(value), quote=False)
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def render_summary(sweeps: Sequence[Sweep]) -> str:
    """The Markdown text of summary.md."""
    lines: list[str] = []
    if len(sweeps) > 1:
        lines += ["## audiostress: detector comparison", "",
                  "| # | detector | clean EER | mean ΔEER | worst cell (ΔEER) | codec-pair Δ mean / max |",
                  "|---|---|---:|---:|---|---:|"]
        for n, r in enumerate(ranking(sweeps), start=1):
            worst = f"{md(r['worst_cell'])} ({fmt_num(r['worst_delta_eer'], 3)})" if r["worst_cell"] else "–"
            lines.append(f"| {n} | {md(r['detector'])}{' (partial)' if r['partial'] else ''} | {fmt_num(r['clean_eer'], 3)} | "
                         f"{fmt_num(r['mean_delta_eer'], 3)} | {worst} | {fmt_num(r['codec_pair_mean'], 3)} / {fmt_num(r['codec_pair_max'], 3)} |")
        lines.append("")
    for sweep in sweeps:
        lines += _sweep_lines(sweep)
    return "\n".join(lines).rstrip() + "\n"


def _sweep_lines(sweep: Sweep) -> list[str]:
    clean = sweep.clean
    lines = [f"## audiostress: {md(sweep.name)}" + (" — PARTIAL" if sweep.partial else ""), ""]
    warnings = sweep.metrics.get("warnings")
    warnings = [w for w in warnings if isinstance(w, str)] if isinstance(warnings, list) else []
    for warning in warnings:
        lines.append(f"> **warning**: {md(warning)}")
    for reason in sweep.partial_reasons:
        lines.append(f"> partial: {md(reason)}")
    if sweep.partial_reasons or warnings:
        lines.append("")
    cov_text = md(coverage_text(sweep))
    lines.append(f"Clean EER **{fmt_num(clean.get('eer'), 4)}**, AUROC {fmt_num(clean.get('auroc'), 4)}, "
                 f"n = {md(clean.get('n', '–'))}{_mark(clean)}; coverage: {cov_text or 'n/a'}.")
    lines.append(f"Corruption rate: {md(corrupt_rate_text(sweep))}. Detector input: {md(detector_input_text(sweep))}.")
    cp = codec_pair(sweep)
    if cp is not None:
        verdict = "n/a (not measured)" if cp["pass"] is None else ("PASS" if cp["pass"] else "FAIL")
        note = f" {md(cp['note'])}" if cp.get("note") else ""
        lines.append(f"Codec-pair Δ (ArtifactBench): mean {fmt_num(cp.get('mean'), 3)} (gate ≤ {md(cp['gate_mean'])}), "
                     f"max {fmt_num(cp.get('max'), 3)} (gate ≤ {md(cp['gate_max'])}): **{verdict}**.{note}")
    lines += ["", "| cell | EER | ΔEER [95% CI] | drift \\|Δp\\| | flip rate |", "|---|---:|---:|---:|---:|"]
    cells = worst_cells(sweep, MAX_CELLS)
    for c in cells:
        lines.append(f"| {md(c.get('cell_id'))} | {fmt_num(c.get('eer'), 3)} | {fmt_num(c.get('delta_eer'), 3)} "
                     f"{fmt_ci(c.get('delta_eer_ci95'))}{_mark(c)} | {fmt_num(c.get('drift_mean_abs'), 3)} | {fmt_num(c.get('flip_rate'), 3)} |")
    if any(b.get("small_n") is True for b in [clean, *cells]):
        lines.append(f"\n{SMALL_N_MARK} fewer than {SMALL_N} clips of a class (`small_n`): the CI rests on too few clips.")
    rest = len([c for c in sweep.cells]) - len(cells)
    if rest > 0:
        lines.append(f"\n{rest} more cell(s) in report.html.")
    lines.append("")
    return lines


def write_summary(sweeps: Sequence[Sweep], path: Path) -> Path:
    """Write summary.md atomically (temp file, then rename); returns its path."""
    return write_atomic(path, render_summary(sweeps))
