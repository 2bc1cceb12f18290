"""HTML fragments of the report: summary, ranking, metrics table, errors, provenance.

Every value that came from a user (detector names and specs, clip ids, attack
names, error text, paths, parameters, provenance) passes through ``esc`` —
``html.escape(..., quote=True)`` — before it reaches the page.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from ..metrics.diagnostics import SMALL_N, group_errors
from .load import Sweep
from .run_info import cell_params, corrupt_rate, corrupt_rate_text, detector_input_text
from .tables import (
    SMALL_N_MARK,
    codec_pair,
    coverage_text,
    family_of,
    fmt_ci,
    fmt_num,
    is_number,
    metric_columns,
    ranking,
    worst_cells,
)

#: Distinct error messages listed per sweep before the list is cut (the full list stays in metrics.json / scores.csv).
MAX_ERROR_ROWS = 500


def esc(value: Any) -> str:
    """HTML-escape any value (quotes included) for text and attribute positions."""
    return html.escape("" if value is None else str(value), quote=True)


def badge(ok: bool | None, yes: str = "pass", no: str = "fail") -> str:
    if ok is None:
        return '<span class="badge na">n/a</span>'
    return f'<span class="badge {"ok" if ok else "bad"}">{yes if ok else no}</span>'


def partial_banner(sweep: Sweep) -> str:
    if not sweep.partial:
        return ""
    items = "".join(f"<li>{esc(r)}</li>" for r in sweep.partial_reasons)
    return (f'<div class="partial" data-partial="1"><strong>Partial sweep: {esc(sweep.name)}</strong> '
            f"({esc(sweep.path)}) — the numbers below cover only what was scored.<ul>{items}</ul></div>")


def small_n_mark(block: dict[str, Any]) -> str:
    """The small-n marker (with a tooltip) when ``block`` is flagged ``small_n``, else ``""``."""
    if block.get("small_n") is not True:
        return ""
    counts = f"n_bonafide = {block.get('n_bonafide', '?')}, n_spoof = {block.get('n_spoof', '?')}"
    return (f'<span class="smalln" data-small-n="1" title="fewer than {SMALL_N} clips of a class ({esc(counts)}): '
            f'the CI rests on too few clips">{SMALL_N_MARK}</span>')


def small_n_legend(blocks: Sequence[dict[str, Any]]) -> str:
    """The legend line for the small-n marker, when any of ``blocks`` carries it."""
    if not any(b.get("small_n") is True for b in blocks):
        return ""
    return (f'<p class="legend" data-key="small_n_legend">{SMALL_N_MARK} fewer than {SMALL_N} clips of a class '
            "(<code>small_n</code> in metrics.json): the bootstrap CI, and the EER itself, rest on too few clips to "
            "be read as a measurement.</p>")


def warnings_banner(sweep: Sweep, multi: bool = False) -> str:
    """One banner per ``metrics.json`` warning (e.g. clean scores that look inverted); ``""`` without any."""
    warnings = sweep.metrics.get("warnings")
    if not isinstance(warnings, list) or not warnings:
        return ""
    items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
    who = f": {esc(sweep.name)}" if multi else ""
    return f'<div class="warning" data-key="warnings"><strong>Warning{who}</strong><ul>{items}</ul></div>'


def run_settings_html(sweep: Sweep) -> str:
    """The corruption rate and the detector's effective input, as the sweep recorded them."""
    return (f'<p data-key="corrupt_rate"><strong>Corruption rate</strong>: {esc(corrupt_rate_text(sweep))}.</p>'
            f'<p data-key="detector_input"><strong>Detector input</strong>: {esc(detector_input_text(sweep))}.</p>')


def summary_card(sweep: Sweep) -> str:
    """Clean EER/AUROC, the five worst cells, codec-pair Δ with gates, and coverage for one sweep."""
    clean = sweep.clean
    cov_text = esc(coverage_text(sweep))
    stats = (
        f'<div class="stats">'
        f'<div><span class="k">clean EER</span><span class="v" data-key="clean_eer" data-value="{esc(clean.get("eer"))}">{fmt_num(clean.get("eer"), 4)}</span></div>'
        f'<div><span class="k">clean AUROC</span><span class="v" data-key="clean_auroc" data-value="{esc(clean.get("auroc"))}">{fmt_num(clean.get("auroc"), 4)}</span></div>'
        f'<div><span class="k">clean EER 95% CI</span><span class="v" data-key="clean_eer_ci95">'
        f'{fmt_ci(clean.get("eer_ci95"))}{small_n_mark(clean)}</span></div>'
        f'<div><span class="k">clean minDCF</span><span class="v">{fmt_num(clean.get("min_dcf"), 4)}</span></div>'
        + _optional_stats(sweep)
        + f'<div><span class="k">clips (bona fide / spoof)</span><span class="v">{esc(clean.get("n", "–"))} '
        f'({esc(clean.get("n_bonafide", "–"))} / {esc(clean.get("n_spoof", "–"))})</span></div>'
        f"</div>"
    )
    if clean.get("note"):
        stats += f'<p class="note" data-key="clean_note">Clean: {esc(clean["note"])}</p>'
    worst = worst_cells(sweep, 5)
    rows = "".join(
        f'<tr><td>{esc(c.get("cell_id"))}</td><td>{esc(_params(c, corrupt_rate(sweep)))}</td>'
        f'<td class="num">{fmt_num(c.get("eer"))}</td><td class="num">{fmt_num(c.get("delta_eer"))}</td>'
        f'<td class="num">{fmt_ci(c.get("delta_eer_ci95"))}{small_n_mark(c)}</td></tr>'
        for c in worst
    )
    worst_html = (
        f'<h3>5 worst cells by ΔEER</h3><table class="small" id="worst-{esc(_slug(sweep))}"><thead><tr><th>cell</th><th>params</th><th>EER</th>'
        f"<th>ΔEER</th><th>ΔEER 95% CI</th></tr></thead><tbody>{rows}</tbody></table>"
        if worst else "<p>No corrupted cell has an EER.</p>"
    )
    legend = small_n_legend([clean, *worst])
    return (f'<div class="card"><h3>{esc(sweep.name)}</h3>{partial_banner(sweep)}{stats}{worst_html}{legend}'
            f"{codec_pair_html(sweep)}<p><strong>Coverage</strong>: {cov_text or 'n/a'}</p>"
            f"{run_settings_html(sweep)}</div>")


def _optional_stats(sweep: Sweep) -> str:
    """Clean Cllr, overall latency and the card's declared threshold with its metrics, when metrics.json has them."""
    clean, out = sweep.clean, []
    latency = sweep.metrics.get("latency")
    settings = sweep.metrics.get("settings")
    declared = settings.get("declared_threshold") if isinstance(settings, dict) else None
    items = [("clean Cllr (bits)", "clean_cllr", clean.get("cllr")),
             ("detector ms per audio s", "latency", latency.get("ms_per_audio_s") if isinstance(latency, dict) else None)]
    if is_number(declared):
        items += [(f"clean accuracy at card threshold p ≥ {fmt_num(declared, 3)}", "clean_accuracy_at_threshold",
                   clean.get("accuracy_at_threshold")),
                  ("clean FPR / FNR at card threshold", "clean_fpr_fnr_at_threshold",
                   f"{fmt_num(clean.get('fpr_at_threshold'), 3)} / {fmt_num(clean.get('fnr_at_threshold'), 3)}")]
    for title, key, value in items:
        if value is not None:
            shown = value if isinstance(value, str) else fmt_num(value, 4)
            out.append(f'<div><span class="k">{esc(title)}</span><span class="v" data-key="{key}" '
                       f'data-value="{esc(value)}">{shown}</span></div>')
    return "".join(out)


def codec_pair_html(sweep: Sweep) -> str:
    cp = codec_pair(sweep)
    if cp is None:
        return ('<p><strong>Codec-pair Δ</strong>: not measured by this grid '
                "(run the <code>codecs</code> grid: clean, mp3/aac/opus at 128 kbps).</p>")
    cells = ", ".join(esc(c) for c in cp.get("cells") or [])
    return (
        f'<h3>Codec-pair Δ (ArtifactBench)</h3><p>Per clip, max − min of p_fake over {cells or "the codec variants"} '
        f'(n = {esc(cp.get("n", "–"))}).</p><table class="small codec-pair"><thead><tr><th></th><th>value</th><th>gate</th><th>result</th></tr></thead><tbody>'
        f'<tr><td>mean Δ</td><td class="num" data-key="codec_pair_mean" data-value="{esc(cp.get("mean"))}">{fmt_num(cp.get("mean"))}</td>'
        f'<td class="num">≤ {_gate(cp["gate_mean"])}</td><td>{badge(cp["pass_mean"])}</td></tr>'
        f'<tr><td>max Δ</td><td class="num" data-key="codec_pair_max" data-value="{esc(cp.get("max"))}">{fmt_num(cp.get("max"))}</td>'
        f'<td class="num">≤ {_gate(cp["gate_max"])}</td><td>{badge(cp["pass_max"])}</td></tr>'
        f'<tr><td colspan="3">both gates</td><td data-key="codec_pair_pass">{badge(cp["pass"])}</td></tr></tbody></table>'
        + (f'<p class="note" data-key="codec_pair_note">{esc(cp["note"])}</p>' if cp.get("note") else "")
    )


def _gate(value: Any) -> str:
    """A gate threshold: 2 decimals when numeric, else the escaped text."""
    return fmt_num(value, 2) if is_number(value) else esc(value)


def ranking_html(sweeps: Sequence[Sweep]) -> str:
    """Detectors ranked by mean ΔEER over cells (lower = more robust)."""
    body = "".join(
        f'<tr data-detector="{esc(r["detector"])}"><td>{n}</td><td>{esc(r["detector"])}{" (partial)" if r["partial"] else ""}</td>'
        f'<td class="num">{fmt_num(r["clean_eer"])}</td><td class="num" data-value="{esc(r["mean_delta_eer"])}">{fmt_num(r["mean_delta_eer"])}</td>'
        f'<td>{esc(r["worst_cell"] or "–")}</td><td class="num">{fmt_num(r["worst_delta_eer"])}</td>'
        f'<td class="num">{fmt_num(r["codec_pair_mean"])} / {fmt_num(r["codec_pair_max"])}</td>'
        f'<td>{badge(r["codec_pair_pass"])}</td></tr>'
        for n, r in enumerate(ranking(sweeps), start=1)
    )
    return ('<h2>Ranking</h2><p>Lower mean ΔEER (averaged over every corrupted cell) = more robust.</p>'
            '<table class="small" id="ranking"><thead><tr><th>#</th><th>detector</th><th>clean EER</th><th>mean ΔEER</th>'
            "<th>worst cell</th><th>worst ΔEER</th><th>codec-pair Δ mean / max</th><th>gates</th></tr></thead>"
            f"<tbody>{body}</tbody></table>")


_params = cell_params


def _slug(sweep: Sweep) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in sweep.name)[:40]


def metrics_table(sweeps: Sequence[Sweep]) -> str:
    """Every cell of every sweep; click a header to sort (numeric columns by their exact value)."""
    multi = len(sweeps) > 1
    columns = metric_columns([c for s in sweeps for c in s.cells])
    head = ('<th data-kind="text">detector</th>' if multi else "") + "".join(
        f'<th data-kind="{"num" if kind in ("num", "ci") else "text"}">{esc(title)}</th>' for _, title, kind in columns)
    rows = []
    for sweep in sweeps:
        for cell in sweep.cells:
            tds = [f'<td data-value="{esc(sweep.name)}">{esc(sweep.name)}</td>'] if multi else []
            rate = corrupt_rate(sweep)
            failed = cell.get("n") == 0 and is_number(cell.get("errors")) and cell["errors"] > 0
            for key, _, kind in columns:
                value = cell.get(key)
                if key == "note" and failed:
                    value = f"FAILED: every clip failed ({first_error(sweep, cell)})"
                if key == "family" and not value:
                    value = family_of(cell)
                if key == "params":
                    text = _params(cell, rate)
                    tds.append(f'<td data-key="params" data-value="{esc(text)}">{esc(text)}</td>')
                elif kind == "num":
                    shown, raw = fmt_num(value), ""
                    if is_number(value):
                        integral = key in ("n", "errors", "severity") and float(value).is_integer()
                        shown, raw = (str(int(value)) if integral else shown), repr(float(value))
                    tds.append(f'<td class="num" data-key="{key}" data-value="{esc(raw)}">{shown}</td>')
                elif kind == "ci":
                    raw = json.dumps(value) if value is not None else ""
                    low = value[0] if isinstance(value, (list, tuple)) and value else None
                    sort = repr(float(low)) if is_number(low) else ""  # sorted by the lower bound
                    tds.append(f'<td class="num" data-key="{key}" data-value="{esc(raw)}" data-sort="{esc(sort)}">'
                               f"{fmt_ci(value)}{small_n_mark(cell)}</td>")
                else:
                    tds.append(f'<td data-key="{key}" data-value="{esc(value)}">{esc(value)}</td>')
            cls = ' class="failed-row" data-failed="1"' if failed else ""
            rows.append(f'<tr{cls} data-cell-id="{esc(cell.get("cell_id"))}" data-detector="{esc(sweep.name)}">{"".join(tds)}</tr>')
    legend = small_n_legend([c for s in sweeps for c in s.cells])
    return (f'<div class="scroll"><table class="sortable" id="metrics-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>{legend}")


def first_error(sweep: Sweep, cell: dict[str, Any]) -> str:
    """The first error message metrics.json lists for ``cell`` (its note when none is listed)."""
    cid = cell.get("cell_id")
    for e in sweep.metrics.get("errors") or []:
        if isinstance(e, dict) and e.get("cell_id") == cid and e.get("error"):
            return str(e["error"])
    for g in error_groups(sweep):
        if cid in (g.get("cells") or []):
            return str(g.get("error"))
    return str(cell.get("note") or "no message recorded")


def error_groups(sweep: Sweep) -> list[dict[str, Any]]:
    """``error_summary`` from metrics.json, or (an older file) the listed errors grouped by message."""
    summary = sweep.metrics.get("error_summary")
    if isinstance(summary, list):
        return [g for g in summary if isinstance(g, dict)]
    errors = sweep.metrics.get("errors") or []
    return group_errors(e for e in errors if isinstance(e, dict))


def errors_html(sweeps: Sequence[Sweep]) -> str:
    """Failed items grouped by message: count, message, the first cells and clip ids of each."""
    parts = []
    for sweep in sweeps:
        errors = sweep.metrics.get("errors") or []
        groups = error_groups(sweep)
        what = f"{len(errors)} failed item(s), {len(groups)} distinct message(s)"
        title = f"<h3>{esc(sweep.name)}: {what}</h3>" if len(sweeps) > 1 else f"<p>{what}.</p>"
        if not groups:
            parts.append(title)
            continue
        rows = "".join(
            f'<tr><td class="num" data-key="count">{esc(g.get("count"))}</td><td class="err">{esc(g.get("error"))}</td>'
            f'<td>{esc(", ".join(str(c) for c in g.get("cells") or []))}</td>'
            f'<td>{esc(", ".join(str(c) for c in g.get("clip_ids") or []))}</td></tr>'
            for g in groups[:MAX_ERROR_ROWS]
        )
        more = (f"<p>… {len(groups) - MAX_ERROR_ROWS} more messages in metrics.json.</p>"
                if len(groups) > MAX_ERROR_ROWS else "")
        parts.append(f'{title}<div class="scroll"><table class="small errors"><thead><tr><th>count</th><th>error</th>'
                     f"<th>first cells</th><th>first clips</th></tr></thead><tbody>{rows}</tbody></table></div>{more}")
    return "".join(parts)


#: Provenance keys shown up front, in this order; the full JSON follows in a <details>.
_PROVENANCE_KEYS = ("detector", "detector_input", "corrupt_rate", "dataset", "grid", "seed", "audiostress", "torch",
                    "codecs", "machine", "created")


def provenance_html(sweep: Sweep) -> str:
    prov = sweep.provenance
    items = [f"<dt>directory</dt><dd>{esc(sweep.path)}</dd>"]
    for key in _PROVENANCE_KEYS:
        if key in prov:
            items.append(f"<dt>{esc(key)}</dt><dd>{esc(_short(prov[key]))}</dd>")
    full = json.dumps(prov, indent=2, sort_keys=True, default=str)
    return (f"<h3>{esc(sweep.name)}</h3><dl>{''.join(items)}</dl>"
            f"<details><summary>full provenance (JSON)</summary><pre>{esc(full)}</pre></details>")


def _short(value: Any) -> str:
    if isinstance(value, dict):
        if "cells" in value and isinstance(value["cells"], list):
            value = {k: v for k, v in value.items() if k != "cells"} | {"cells": f"{len(value['cells'])} cells"}
        return ", ".join(f"{k}: {_short(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_short(v) for v in value)
    return str(value)


def _detector_label(det: Any) -> str:
    """A provenance detector block as one name: its ``name``, else its ``spec``, else the whole block."""
    if isinstance(det, dict):
        for key in ("name", "spec"):
            if det.get(key):
                return str(det[key])
    return _short(det) if det else "unknown"


def extra_blocks_html(sweep: Sweep) -> str:
    """Corruption error (CE / relative CE) against a reference, when the sweep computed it, with mCE."""
    ce = sweep.metrics.get("corruption_errors")
    if not ce:
        return ""
    ref = sweep.metrics.get("corruption_error_reference")
    ref_html = ""
    if isinstance(ref, dict):
        ref_html = (
            f'<p data-key="corruption_error_reference">Reference detector: {esc(_detector_label(ref.get("detector")))}; '
            f'its clean EER {fmt_num(ref.get("clean_eer"))}. '
            f'mCE <span data-key="mce" data-value="{esc(ref.get("mce"))}">{fmt_num(ref.get("mce"))}</span>, '
            f'relative mCE <span data-key="relative_mce" data-value="{esc(ref.get("relative_mce"))}">'
            f'{fmt_num(ref.get("relative_mce"))}</span>.</p>'
        )
    items = ce.items() if isinstance(ce, dict) else enumerate(ce)
    rows = []
    for key, value in items:
        if isinstance(value, dict):
            text = ", ".join(f"{esc(k)}: {fmt_num(v) if is_number(v) else esc(v)}" for k, v in value.items())
        else:
            text = fmt_num(value) if is_number(value) else esc(value)
        rows.append(f"<tr><td>{esc(key)}</td><td>{text}</td></tr>")
    return (f"<h3>{esc(sweep.name)}: corruption error vs reference</h3><table class=\"small\"><thead><tr><th>corruption</th>"
            f"<th>CE / relative CE</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{ref_html}")
