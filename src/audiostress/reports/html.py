"""``write_report``: one self-contained ``report.html`` (plus ``summary.md`` and ``plots/``) for sweeps.

The page embeds every figure as a base64 PNG (the SVGs sit next to it in
``plots/`` for papers), carries its own CSS and a few lines of vanilla JS
(table sorting, and load checks that set ``data-images-*`` and
``data-audio-*`` on ``<body>``), and loads nothing from the network. The
listening players embed the excerpts of ``listen/`` as ``data:`` URIs, bounded
by ``listen_html.MAX_AUDIO_BYTES``.

Every file is written atomically (a temporary file in the same folder, then
``os.replace``), so a full disk or a crash leaves the previous file whole and no
cut-off one. The report never deletes a file it did not write: ``plots/`` keeps a
manifest (``.report-files.json``) of the figures the last report wrote and their
sha256; a figure of that list that this run no longer makes is removed only when
its bytes are still the ones recorded. Anything else in ``plots/`` is left alone.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._version import __version__
from ..metrics._atomic import write_atomic
from .compare_html import comparison_html
from .comparison import compare_sweeps, write_comparison
from .headline import failed_html, what_next_html, worst_html
from .html_sections import (
    errors_html,
    esc,
    extra_blocks_html,
    metrics_table,
    partial_banner,
    provenance_html,
    ranking_html,
    summary_card,
    warnings_banner,
)
from .listen_html import listen_html
from .load import ReportError, Sweep, load_sweeps
from .plots import PlotFile, curve_plots
from .plots_det import trade_off_plots
from .plots_scores import score_plots
from .summary_md import write_summary

#: The manifest in plots/ of the figures the last report wrote: ``{file name: sha256}``.
MANIFEST_NAME = ".report-files.json"


def write_report(sweep_dirs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
                 out_dir: str | os.PathLike[str] | None = None, *,
                 reference: Mapping[str, Any] | str | os.PathLike[str] | None = None) -> Path:
    """Write ``report.html``, ``summary.md`` and ``plots/*.png|svg`` for one or more sweep directories.

    With one directory the output goes into it unless ``out_dir`` is given;
    several directories (a multi-detector comparison) need ``out_dir``, and also
    get ``comparison.json`` there (:func:`.comparison.compare_sweeps`; ``reference``,
    a reference detector's metrics.json, adds CE and relative CE).
    Returns the path of ``report.html``. Raises ``ReportError`` for a missing
    or unreadable ``metrics.json``; a partial sweep is reported and marked.
    """
    if isinstance(sweep_dirs, (str, os.PathLike)):
        sweep_dirs = [sweep_dirs]
    paths = [Path(p) for p in sweep_dirs]
    if not paths:
        raise ReportError("Expected at least one sweep directory, got none")
    if out_dir is None and len(paths) > 1:
        raise ReportError(f"Comparing {len(paths)} sweep directories needs an output directory (--out DIR)")
    sweeps = load_sweeps(paths)
    out = Path(out_dir) if out_dir is not None else paths[0]
    comparison = None
    if len(sweeps) > 1:
        comparison = compare_sweeps(sweeps, reference=reference)
        write_comparison(comparison, out)
    plots_dir = out / "plots"
    previous = _read_manifest(plots_dir)
    files = curve_plots(sweeps, plots_dir) + score_plots(sweeps, plots_dir) + trade_off_plots(sweeps, plots_dir)
    written = {p.name: _sha256(p) for f in files for p in (f.png, f.svg)}
    _remove_stale(plots_dir, previous, written)
    if files or previous:
        write_atomic(plots_dir / MANIFEST_NAME, json.dumps(written, sort_keys=True, indent=1) + "\n")
    report = write_atomic(out / "report.html", render_html(sweeps, files, out, comparison))
    write_summary(sweeps, out / "summary.md", comparison)
    return report


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_manifest(plots_dir: Path) -> dict[str, str]:
    """The previous report's ``{file name: sha256}`` (``{}`` when there is none or it is unreadable)."""
    try:
        data = json.loads((plots_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(k, str) and "/" not in k and k not in (".", "..")}


def _remove_stale(plots_dir: Path, previous: dict[str, str], written: dict[str, str]) -> None:
    """Remove the previous report's figures that this one did not write, if their bytes are still its own."""
    for name, digest in previous.items():
        path = plots_dir / name
        if name in written or not path.is_file():
            continue
        with contextlib.suppress(OSError):
            if _sha256(path) == digest:
                path.unlink()


def _figure_html(plot: PlotFile, out: Path) -> str:
    data = base64.b64encode(plot.png_data or plot.png.read_bytes()).decode("ascii")
    try:
        svg_href = plot.svg.relative_to(out).as_posix()
    except ValueError:
        svg_href = plot.svg.as_posix()
    return (f'<figure id="fig-{esc(plot.name)}"><img src="data:image/png;base64,{data}" alt="{esc(plot.title)}">'
            f'<figcaption><strong>{esc(plot.title)}.</strong> {esc(plot.caption)} '
            f'<a href="{esc(svg_href)}">SVG</a></figcaption></figure>')


def _plots_html(files: Sequence[PlotFile], out: Path) -> str:
    if not files:
        return "<p>No corrupted cell has metrics to plot.</p>"
    sections: dict[str, list[PlotFile]] = {}
    for f in files:
        sections.setdefault(f.section, []).append(f)
    order = ["Overview"] + [s for s in sections if s not in ("Overview", "Scores")] + ["Scores"]
    parts = []
    for name in order:
        if name in sections:
            parts.append(f"<h3>{esc(name)}</h3>" + "".join(_figure_html(f, out) for f in sections[name]))
    return "".join(parts)


def render_html(sweeps: Sequence[Sweep], files: Sequence[PlotFile], out: Path,
                comparison: Mapping[str, Any] | None = None) -> str:
    """The whole page as a string (``comparison``: the comparison.json content of a multi-sweep report)."""
    names = ", ".join(s.name for s in sweeps)
    multi = len(sweeps) > 1
    partial = any(s.partial for s in sweeps)
    title = f"audiostress report: {names}" + (" (partial)" if partial else "")
    ranked = (comparison_html(comparison) if comparison is not None else ranking_html(sweeps)) if multi else ""
    summary = ranked + "".join(
        summary_card(s) + f'<div class="card headline"><h3>{esc(s.name)}: where it breaks</h3>'
        f"{failed_html(s)}{worst_html(s)}{what_next_html(s)}</div>" for s in sweeps)
    extra = "".join(extra_blocks_html(s) for s in sweeps)
    provenance = "".join(provenance_html(s) for s in sweeps)
    banners = "".join(warnings_banner(s, multi) for s in sweeps)
    banners += "".join(partial_banner(s) for s in sweeps) if multi else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{_CSS}</style></head>
<body data-partial="{int(partial)}">
<header><h1>{esc(title)}</h1>
<p class="sub">Robustness of {len(sweeps)} detector{"s" if multi else ""} under corruptions and codecs · audiostress {esc(__version__)}</p>
<nav><a href="#summary">Summary</a> · <a href="#listen">Listen</a> · <a href="#plots">Plots</a> · <a href="#metrics">Metrics</a> · <a href="#errors">Errors</a> · <a href="#provenance">Provenance</a></nav></header>
<main>
{banners}
<section id="summary"><h2>Summary</h2>{summary}{extra}</section>
<section id="listen"><h2>Listen to the failures</h2>{listen_html(sweeps, out)}</section>
<section id="plots"><h2>Plots</h2>{_plots_html(files, out)}</section>
<section id="metrics"><h2>Metrics per cell</h2><p>Click a column header to sort. Rates are fractions in [0, 1];
ΔEER is the cell's EER minus the clean EER on the same clips; τ is the clean EER threshold.</p>{metrics_table(sweeps)}</section>
<section id="errors"><h2>Per-item errors</h2>{errors_html(sweeps)}</section>
<section id="provenance"><h2>Provenance</h2>{provenance}</section>
</main>
<script>{_JS}</script>
</body></html>
"""


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2329;background:#f6f7f9}
header{background:#1d2b3a;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px;word-break:break-word}
header .sub{margin:4px 0 8px;opacity:.85}header a{color:#9cd0ff}
main{max-width:1200px;margin:0 auto;padding:8px 24px 40px}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:6px 20px 16px;margin:18px 0}
h2{font-size:19px;border-bottom:1px solid #e3e6ea;padding-bottom:6px}h3{font-size:15px;margin:18px 0 8px}
.card{border-left:4px solid #1f77b4;padding:2px 14px 6px;margin:10px 0;background:#fbfcfd}
.stats{display:flex;flex-wrap:wrap;gap:10px 28px;margin:8px 0}.stats div{display:flex;flex-direction:column}
.stats .k{font-size:12px;color:#5b6670}.stats .v{font-size:20px;font-weight:600}
table{border-collapse:collapse;font-size:13px}th,td{border-bottom:1px solid #e5e8eb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.sortable th{cursor:pointer;user-select:none;white-space:nowrap}table.sortable th:after{content:" \\2195";color:#98a2ab}
.scroll{overflow:auto;max-height:640px}td.err{font-family:ui-monospace,monospace;font-size:12px;word-break:break-word}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.badge.ok{background:#d9f2de;color:#17692c}.badge.bad{background:#fbdcdc;color:#a11d1d}.badge.na{background:#eceff2;color:#5b6670}
.partial{background:#fff4d6;border:1px solid #e9c46a;border-radius:6px;padding:8px 14px;margin:10px 0}
.warning{background:#fde2e1;border:1px solid #d9534f;border-radius:6px;padding:8px 14px;margin:10px 0}
.smalln{color:#a11d1d;font-weight:700;margin-left:2px;cursor:help}.legend{font-size:12px;color:#3c4650}
figure{margin:14px 0 22px}figure img{max-width:100%;height:auto;border:1px solid #eceff2}
figcaption{font-size:13px;color:#3c4650;margin-top:4px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px}dt{font-weight:600}dd{margin:0;word-break:break-word}
pre{background:#f3f5f7;padding:10px;overflow:auto;max-height:420px;font-size:12px}
.failed{background:#fde2e1;border:1px solid #c0392b;color:#8b1a1a;border-radius:6px;padding:8px 14px;margin:10px 0}
tr.failed-row td{background:#fde2e1;color:#8b1a1a}
.worst-row{display:flex;flex-wrap:wrap;gap:10px 24px}.worst h4{margin:6px 0 4px;font-size:13px}
.next{background:#eef6ff;border:1px solid #9cc3ea;border-radius:6px;padding:8px 14px;margin:10px 0}
table.listen audio{width:220px;height:32px}code.cmd{font-size:11px;word-break:break-all}
details{margin:6px 0}summary{cursor:pointer}
"""

# Sorting: numeric columns compare data-sort (when a cell has one, e.g. a CI's lower bound) else data-value
# as numbers (empty last); text columns compare strings.
# Image check: on load, <body> gets data-images-total / data-images-loaded (complete and naturalWidth > 0).
_JS = """
document.querySelectorAll("table.sortable").forEach(function(t){
  t.querySelectorAll("th").forEach(function(th,i){th.addEventListener("click",function(){
    var num=th.dataset.kind==="num",dir=th.dataset.dir==="asc"?-1:1;th.dataset.dir=dir===1?"asc":"desc";
    var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){var ca=a.cells[i].dataset,cb=b.cells[i].dataset;
      var x=(num&&ca.sort!==undefined?ca.sort:ca.value)||"",y=(num&&cb.sort!==undefined?cb.sort:cb.value)||"";
      if(num){if(x===""||y==="")return (x==="")-(y==="");return dir*(parseFloat(x)-parseFloat(y));}
      return dir*x.localeCompare(y);});
    rows.forEach(function(r){body.appendChild(r);});});});});
window.addEventListener("load",function(){var imgs=document.images,ok=0;
  for(var k=0;k<imgs.length;k++){if(imgs[k].complete&&imgs[k].naturalWidth>0)ok++;}
  document.body.setAttribute("data-images-total",imgs.length);document.body.setAttribute("data-images-loaded",ok);});
(function(){var auds=document.querySelectorAll("audio"),ok=0,bad=0;
  function mark(){document.body.setAttribute("data-audio-total",auds.length);
    document.body.setAttribute("data-audio-loaded",ok);document.body.setAttribute("data-audio-failed",bad);}
  auds.forEach(function(a){if(a.readyState>=1){ok++;return;}
    a.addEventListener("loadedmetadata",function(){ok++;mark();},{once:true});
    a.addEventListener("error",function(){bad++;mark();},{once:true});});mark();})();
"""
