"""Report figures: per-family severity curves (EER, drift, flip rate) and the ΔEER heatmap.

Figures are built on ``matplotlib.figure.Figure`` directly (Agg canvas, no
pyplot global state) with constrained layout, and saved as PNG and SVG in
``plots/``. Several sweeps overlay as one colour per detector. Score
histograms and the attack matrix live in ``plots_scores.py``.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from ..metrics._atomic import write_atomic
from .curves import explicit_series, x_axis
from .load import Sweep
from .run_info import axis_in_hz, common_rate
from .tables import (
    FIXED,
    PANEL_GROUPS,
    Series,
    collect_series,
    has_curve,
    is_number,
    severity_axis,
)

#: Heatmap cells where every clip failed.
FAILED_COLOR = "#c0392b"
#: PNG resolution: sharp in the HTML at about 1000 px per figure width.
PNG_DPI = 110
#: Title characters per line before wrapping.
TITLE_WIDTH = 34
#: One colour per detector (matplotlib's tab10, colour-blind friendlier order first).
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22")


@dataclass(frozen=True)
class PlotFile:
    """One saved figure: ``plots/<name>.png`` and ``.svg`` plus what the report says about it."""

    name: str
    title: str
    caption: str
    png: Path
    svg: Path
    section: str
    #: The PNG's bytes as written (the page embeds these, not whatever the file holds later).
    png_data: bytes = b""


def mpl_text(text: object) -> str:
    """A user string made literal for matplotlib: ``$`` (which would start mathtext) is escaped.

    Backslashes are left alone: outside mathtext matplotlib draws them literally.
    """
    return str(text).replace("$", r"\$")


def wrap(text: str, width: int = TITLE_WIDTH) -> str:
    return "\n".join(textwrap.wrap(text, width, break_long_words=True)) or text


def save(fig: Figure, out_dir: Path, name: str) -> tuple[Path, Path]:
    """Write ``name.png`` and ``name.svg`` (no timestamps, so reruns give the same files)."""
    png, svg, _ = save_figure(fig, out_dir, name)
    return png, svg


def save_figure(fig: Figure, out_dir: Path, name: str) -> tuple[Path, Path, bytes]:
    """:func:`save`, also returning the PNG's bytes. Each file is written atomically (temp file, then rename)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png, svg = out_dir / f"{name}.png", out_dir / f"{name}.svg"
    fig.set_dpi(PNG_DPI)  # lay out at the PNG resolution so text extents match
    fig.draw_without_rendering()  # run constrained layout once, then freeze it for both formats
    fig.set_layout_engine("none")
    png_buf, svg_buf = io.BytesIO(), io.BytesIO()
    fig.savefig(png_buf, format="png", dpi=PNG_DPI, metadata={"Software": None})
    fig.savefig(svg_buf, format="svg", metadata={"Date": None, "Creator": None})
    write_atomic(png, png_buf.getvalue())
    write_atomic(svg, svg_buf.getvalue())
    return png, svg, png_buf.getvalue()


def color(i: int) -> str:
    return COLORS[i % len(COLORS)]


#: Columns of a family figure: (metric key, y label, CI key, clean key in metrics["clean"]).
CURVE_METRICS = (
    ("eer", "EER (fraction)", "eer_ci95", "eer"),
    ("drift_mean_abs", "drift: mean |Δp_fake| (0–1)", None, None),
    ("flip_rate", "flip rate at clean threshold (fraction)", None, None),
)


def family_figure(sweeps: Sequence[Sweep], series: Sequence[Series], title: str) -> Figure:
    """One row per corruption of a panel group, columns EER (CI band, clean dashed), drift and flip rate;
    one line per sweep. The x axis is the corruption's parameter (SNR in dB, cutoff in Hz, bit rate) on its
    own numeric scale, so spacing means something; harsher is always to the right."""
    n = len(series)
    fig = Figure(figsize=(11.0, 2.55 * n + 0.9), layout="constrained")
    rows = np.atleast_1d(fig.subfigures(n, 1, squeeze=False).ravel())
    tops = {m[0]: 0.0 for m in CURVE_METRICS}
    used = []
    rate = common_rate(sweeps)
    for sub, s in zip(rows, series):
        axis = axis_in_hz(severity_axis(s), rate)
        sub.suptitle(mpl_text(s.key + (f"  ·  {axis.title_suffix}" if axis.title_suffix else "")), fontsize=10, fontweight="bold")
        axes = sub.subplots(1, len(CURVE_METRICS), squeeze=False)[0]
        ticks = sorted(axis.ticks)
        labels = [axis.ticks[t] for t in ticks]
        rotate = 30 if max(len(x) for x in labels) > 5 else 0
        xa = x_axis(axis, rate)
        explicit = s.key.endswith(", explicit)")
        for ax, (metric, ylabel, ci_key, clean_key) in zip(axes, CURVE_METRICS):
            tops[metric] = max(tops[metric], _draw_curve(ax, sweeps, s, metric, ci_key, clean_key, xa.x))
            if xa.log:
                ax.set_xscale("log")
                ax.minorticks_off()
            ax.set_xticks([xa.x[t] for t in ticks], labels, rotation=rotate)
            if not xa.numeric:
                ax.set_xlim(0.5, 5.5)
            elif len(ticks) == 1 and xa.x[ticks[0]] > 0:  # one point: a window around it
                ax.set_xlim(xa.x[ticks[0]] * 0.5, xa.x[ticks[0]] * 1.5)
            if xa.inverted:
                ax.invert_xaxis()
            ax.grid(True, alpha=0.3)
            ax.tick_params(labelsize=8)
            ax.set_ylabel(wrap(ylabel, 24), fontsize=8.5)
            ax.set_xlabel(mpl_text(axis.label + ("" if explicit else "  (harsher →)")), fontsize=8.5)
            used.append((ax, metric))
    for ax, metric in used:
        top = tops[metric]
        ax.set_ylim(0.0, min(1.0, max(0.1, top * 1.15)) if metric != "drift_mean_abs" else max(0.05, min(1.0, top * 1.15)))
    fig.suptitle(title, fontsize=12)
    fig.legend(handles=_legend(sweeps, True, True), loc="outside lower center",
               ncols=min(4, len(sweeps) + 2), fontsize=8.5, frameon=False)
    return fig


def _draw_curve(ax, sweeps: Sequence[Sweep], s: Series, metric: str, ci_key: str | None, clean_key: str | None,  # type: ignore[no-untyped-def]
                positions: dict[int, float] | None = None) -> float:
    """Draw one metric of one corruption for every sweep at ``positions[slot]`` (default: the severity);
    returns the largest value drawn."""
    top = 0.0
    for i, sweep in enumerate(sweeps):
        cells = s.cells.get(i, {})
        sevs = [sev for sev in sorted(cells) if sev != FIXED and is_number(cells[sev].get(metric))]
        xs = [positions.get(sev, float(sev)) if positions else float(sev) for sev in sevs]
        ys = [float(cells[sev][metric]) for sev in sevs]
        c = color(i)
        if xs:
            ax.plot(xs, ys, "-o", color=c, lw=1.8, ms=4.5, zorder=3)
            top = max(top, max(ys))
        if ci_key:
            ci = [(x, (float(v[0]), float(v[1]))) for x, sev in zip(xs, sevs)
                  if isinstance(v := cells[sev].get(ci_key), (list, tuple)) and len(v) == 2 and all(is_number(x) for x in v)]
            if len(ci) >= 2:
                ax.fill_between([x for x, _ in ci], [v[0] for _, v in ci], [v[1] for _, v in ci], color=c, alpha=0.18, lw=0)
            else:
                for x, v in ci:
                    y = ys[xs.index(x)]
                    ax.errorbar([x], [y], yerr=[[max(0.0, y - v[0])], [max(0.0, v[1] - y)]], color=c, capsize=3, lw=1)
            top = max([top] + [float(v[1]) for _, v in ci])
        if clean_key and is_number(sweep.clean.get(clean_key)):
            ax.axhline(float(sweep.clean[clean_key]), color=c, ls="--", lw=1.2, alpha=0.9, zorder=2)
            top = max(top, float(sweep.clean[clean_key]))
    return top


def _legend(sweeps: Sequence[Sweep], with_ci: bool, with_clean: bool) -> list[Line2D | Patch]:
    handles: list[Line2D | Patch] = []
    for i, sweep in enumerate(sweeps):
        handles.append(Line2D([], [], color=color(i), marker="o", lw=1.8, label=mpl_text(sweep.name)))
    if with_ci:
        handles.append(Patch(color="0.5", alpha=0.3, label="bootstrap 95% CI"))
    if with_clean:
        handles.append(Line2D([], [], color="0.3", ls="--", lw=1.2, label="clean EER"))
    return handles


def delta_eer_heatmap(sweeps: Sequence[Sweep], series: Sequence[Series]) -> Figure:
    """ΔEER, corruption x severity, one heatmap per sweep, diverging colours centred at 0."""
    rows = list(series)
    fixed = any(FIXED in s.severities for s in rows)
    ncol = 6 if fixed else 5  # column 6: cells given by explicit parameters
    values = np.full((len(sweeps), len(rows), ncol), np.nan)
    failed = np.zeros(values.shape, dtype=bool)
    for i in range(len(sweeps)):
        for r, s in enumerate(rows):
            for sev, cell in s.cells.get(i, {}).items():
                slot = 5 if sev == FIXED else sev - 1
                if is_number(cell.get("delta_eer")):
                    values[i, r, slot] = float(cell["delta_eer"])
                elif cell.get("n") == 0 and is_number(cell.get("errors")) and cell["errors"] > 0:
                    failed[i, r, slot] = True
    finite = values[np.isfinite(values)]
    lim = max(0.02, float(np.abs(finite).max()) if finite.size else 0.02)
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim)
    ncols = len(sweeps)
    fig = Figure(figsize=(2.6 + (3.6 + 0.7 * fixed) * ncols, 1.6 + 0.5 * len(rows)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, ncols, squeeze=False)).ravel()
    rate = common_rate(sweeps)
    suffixes = [axis_in_hz(severity_axis(s), rate).title_suffix for s in rows]
    labels = [mpl_text(s.key + (f"\n{suffix}" if suffix else "")) for s, suffix in zip(rows, suffixes)]
    image = None
    for i, ax in enumerate(axes):
        data = np.ma.masked_invalid(values[i])
        image = ax.imshow(data, cmap="RdBu_r", norm=norm, aspect="auto")
        ax.set_facecolor("0.88")
        for r in range(len(rows)):
            for c in range(ncol):
                v = values[i, r, c]
                if failed[i, r, c]:  # every clip failed: red, never the grey of "not in the grid"
                    ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=FAILED_COLOR, edgecolor="none"))
                    ax.text(c, r, "FAILED", ha="center", va="center", fontsize=7.5, color="white", fontweight="bold")
                    continue
                text, col = ("–", "0.45") if not np.isfinite(v) else (f"{v:+.3f}", "white" if abs(v) > 0.6 * lim else "black")
                ax.text(c, r, text, ha="center", va="center", fontsize=8, color=col)
        ax.set_xticks(range(ncol), [str(k) for k in range(1, 6)] + (["fixed\nparams"] if fixed else []))
        ax.set_xlabel("severity level (1 = mildest, 5 = harshest)", fontsize=8.5)
        ax.set_yticks(range(len(rows)), labels if i == 0 else [""] * len(rows), fontsize=7.5)
        if ncols > 1:
            ax.set_title(mpl_text(wrap(sweeps[i].name, 40)), fontsize=10)
    if image is not None:
        fig.colorbar(image, ax=list(axes), label="ΔEER vs clean (fraction; red = worse)", shrink=0.9)
    fig.suptitle("ΔEER by corruption and severity", fontsize=11.5)
    return fig


def curve_plots(sweeps: Sequence[Sweep], out_dir: Path) -> list[PlotFile]:
    """One figure per panel group (EER, drift, flip rate vs severity), then the ΔEER heatmap."""
    series = collect_series(sweeps)
    curves = [s for s in series if has_curve(s)] + explicit_series(sweeps)
    files: list[PlotFile] = []
    for key, group_title, _ in PANEL_GROUPS:
        group = [s for s in curves if s.panel == key]
        if not group:
            continue
        title = f"{group_title}: EER, drift and flip rate vs severity"
        png, svg, data = save_figure(family_figure(sweeps, group, title), out_dir, f"curves_{key}")
        files.append(PlotFile(f"curves_{key}", title, _CAPTIONS["curves"], png, svg, group_title, data))
    if series:
        png, svg, data = save_figure(delta_eer_heatmap(sweeps, series), out_dir, "delta_eer_heatmap")
        files.append(PlotFile("delta_eer_heatmap", "ΔEER heatmap", _CAPTIONS["heatmap"], png, svg, "Overview", data))
    return files


_CAPTIONS = {
    "curves": "One row per corruption. Left: equal error rate per severity, with the bootstrap 95% CI from metrics.json as "
    "a band and the clean EER dashed. Middle: probability drift, the mean absolute change of each clip's p_fake against "
    "its own clean p_fake. Right: flip rate, the fraction of clips whose decision at the clean EER threshold changes. "
    "The x axis is the corruption's parameter on its own scale (log when it spans a factor of 8 or more), "
    "drawn so that harsher is to the right; cells given by explicit parameters form curves of their own on their "
    "parameter's axis.",
    "heatmap": "EER increase over clean per cell (red = worse, blue = better); grey with a dash = no such cell in the "
    "grid; solid red 'FAILED' = every clip of the cell failed (its message is in the headline and the errors table). "
    "Cells given by explicit parameters instead of a severity sit in the 'fixed params' column.",
}
