"""``summary.md``: a compact Markdown summary for CI logs and PR comments.

User strings are made inert for Markdown renderers that also render HTML:
``|`` and newlines are escaped (they would break the table) and ``<``, ``>``,
``&`` are HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..metrics._atomic import write_atomic
from ..metrics.diagnostics import SMALL_N
from .load import Sweep
from .run_info import cell_params, corrupt_rate, corrupt_rate_text, detector_input_text
from .tables import SMALL_N_MARK, codec_pair, coverage_text, fmt_ci, fmt_num, ranking, worst_cells


def _mark(block: dict[str, Any]) -> str:
    return f" {SMALL_N_MARK}" if block.get("small_n") is True else ""


def md(value: Any) -> str:
    """A user string safe inside a Markdown table cell."""
    text = html.escape("" if value is None else str(value), quote=False)
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _comparison_lines(comp: Mapping[str, Any]) -> list[str]:
    lines = ["## audiostress: detector comparison", ""]
    for d in comp.get("differences") or []:
        if isinstance(d, Mapping):
            lines.append(f"> **not comparable**: {md(d.get('what'))}: {md(d.get('message'))}")
    lines += [f"On {md(comp.get('common_clips'))} common clips × {md(comp.get('common_cells'))} common cells.", "",
              "| # | detector | score (mean EER, clean + cells) | mean flip rate | clean EER | mean ΔEER |",
              "|---|---|---:|---:|---:|---:|"]
    for r in comp.get("ranking") or []:
        mark = " ≈" if r.get("significant_vs_next") is False else ""
        lines.append(f"| {md(r.get('rank'))} | {md(r.get('detector'))}{mark} | {fmt_num(r.get('score'), 3)} | "
                     f"{fmt_num(r.get('mean_flip_rate'), 3)} | {fmt_num(r.get('clean_eer'), 3)} | "
                     f"{fmt_num(r.get('mean_delta_eer'), 3)} |")
    if any(r.get("significant_vs_next") is False for r in comp.get("ranking") or []):
        lines.append("\n≈ not significantly better than the next detector (paired bootstrap CI includes 0).")
    return lines + [""]


def render_summary(sweeps: Sequence[Sweep], comparison: Mapping[str, Any] | None = None) -> str:
    """The Markdown text of summary.md (``comparison``: the comparison.json content, for several sweeps)."""
    lines: list[str] = []
    if len(sweeps) > 1 and comparison is not None:
        lines += _comparison_lines(comparison)
    elif len(sweeps) > 1:
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
    lines += ["", "| cell | params | EER | ΔEER [95% CI] | drift \\|Δp\\| | flip rate | FPR@τ | FNR@τ |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    ranked = worst_cells(sweep, len(sweep.cells))
    cells = ranked + [c for c in sweep.cells if c not in ranked]  # worst ΔEER first, then cells without one
    rate = corrupt_rate(sweep)
    for c in cells:
        failed = c.get("n") == 0 and (c.get("errors") or 0) > 0
        eer = "**FAILED**" if failed else fmt_num(c.get("eer"), 3)
        lines.append(f"| {md(c.get('cell_id'))} | {md(cell_params(c, rate))} | {eer} | {fmt_num(c.get('delta_eer'), 3)} "
                     f"{fmt_ci(c.get('delta_eer_ci95'))}{_mark(c)} | {fmt_num(c.get('drift_mean_abs'), 3)} | "
                     f"{fmt_num(c.get('flip_rate'), 3)} | {fmt_num(c.get('fpr_at_clean_threshold'), 3)} | "
                     f"{fmt_num(c.get('fnr_at_clean_threshold'), 3)} |")
    if any(b.get("small_n") is True for b in [clean, *cells]):
        lines.append(f"\n{SMALL_N_MARK} fewer than {SMALL_N} clips of a class (`small_n`): the CI rests on too few clips.")
    lines.append("")
    return lines


def write_summary(sweeps: Sequence[Sweep], path: Path, comparison: Mapping[str, Any] | None = None) -> Path:
    """Write summary.md atomically (temp file, then rename); returns its path."""
    return write_atomic(path, render_summary(sweeps, comparison))
