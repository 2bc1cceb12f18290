"""Report figures of detection trade-offs: DET curves, EER against measured SNR, raw_score histograms.

- **DET.** Miss rate (FNR) against false-alarm rate (FPR) on normal-deviate
  (probit) axes, for the clean cell and the :data:`DET_WORST` cells with the
  largest ΔEER, from scores.csv on the score the EER uses
  (``settings.threshold_score``). Rates of 0 or 1 are drawn at the axis edge
  (:data:`DET_LIMITS`).
- **EER vs measured SNR.** For the noise and codec families, each cell's EER at
  its median measured SNR (``measured_snr_db``: the SNR of the corrupted audio
  against the clean clip), one line per series, clean EER dashed.
- **raw_score histograms.** ``raw_score`` by class for clean and the worst cell,
  with bins chosen by numpy's ``"auto"`` rule over the scores' own range (at most
  :data:`MAX_BINS`), since on the fixed 0–1 p_fake range every score of a
  confident model lands in one bin.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from statistics import NormalDist

import numpy as np
from matplotlib.figure import Figure

from .load import Sweep
from .plots import PlotFile, color, mpl_text, save_figure, wrap
from .plots_scores import BONAFIDE_COLOR, SPOOF_COLOR, eer_score_column
from .tables import family_of, is_number, worst_cells

#: Cells besides clean on a DET plot.
DET_WORST = 3
#: The probability range of the DET axes.
DET_LIMITS = (0.001, 0.999)
#: Ticks of the DET axes (as fractions).
DET_TICKS = (0.001, 0.01, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.95, 0.99)
#: Most bins of a raw_score histogram.
MAX_BINS = 80
#: Families drawn against measured SNR.
SNR_FAMILIES = ("noise", "codec")

_PROBIT = NormalDist()


def _probit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, *DET_LIMITS)
    return np.array([_PROBIT.inv_cdf(float(v)) for v in clipped])


def cell_scores(sweep: Sweep, cell_id: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(scores, is_spoof) of the cell's rows scored without error, on ``column``."""
    pairs = [(float(r[column]), r.get("label") == "spoof") for r in sweep.rows or []
             if r.get("cell_id") == cell_id and not r.get("error") and is_number(r.get(column))]
    return np.array([p[0] for p in pairs], dtype=float), np.array([p[1] for p in pairs], dtype=bool)


def det_points(scores: np.ndarray, spoof: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, FNR) at every threshold between sorted scores (spoof called when score >= threshold).

    >>> fpr, fnr = det_points(np.array([0.1, 0.4, 0.6, 0.9]), np.array([False, True, False, True]))
    >>> fpr.tolist(), fnr.tolist()
    ([1.0, 0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5, 1.0])
    """
    order = np.argsort(scores, kind="mergesort")
    y = spoof[order]
    n_spoof, n_bona = int(y.sum()), int((~y).sum())
    # threshold below the k-th sorted score: the first k clips are called bona fide
    fnr = np.concatenate([[0.0], np.cumsum(y)]) / max(n_spoof, 1)
    fpr = 1.0 - np.concatenate([[0.0], np.cumsum(~y)]) / max(n_bona, 1)
    return fpr, fnr


def det_figure(sweeps: Sequence[Sweep]) -> Figure | None:
    """One DET panel per sweep: clean and its worst cells."""
    usable = [s for s in sweeps if s.rows]
    if not usable:
        return None
    fig = Figure(figsize=(5.6 * len(usable) + 0.6, 5.4), layout="constrained")
    axes = fig.subplots(1, len(usable), squeeze=False)[0]
    ticks = _probit(np.array(DET_TICKS))
    labels = [f"{100 * t:g}" for t in DET_TICKS]
    for ax, sweep in zip(axes, usable):
        column = eer_score_column(sweep)
        cells = ["clean"] + [str(c["cell_id"]) for c in worst_cells(sweep, DET_WORST)]
        for k, cid in enumerate(cells):
            scores, spoof = cell_scores(sweep, cid, column)
            if not spoof.any() or spoof.all():
                continue
            fpr, fnr = det_points(scores, spoof)
            eer = sweep.clean.get("eer") if cid == "clean" else next(
                (c.get("eer") for c in sweep.cells if c.get("cell_id") == cid), None)
            label = f"{cid} (EER {float(eer):.3f})" if is_number(eer) else cid
            ax.plot(_probit(fpr), _probit(fnr), color="black" if cid == "clean" else color(k),
                    lw=2.0 if cid == "clean" else 1.5, ls="-" if cid == "clean" else "--", label=mpl_text(label))
        lo, hi = _probit(np.array(DET_LIMITS))
        ax.plot([lo, hi], [lo, hi], color="0.6", lw=0.8, ls=":")
        ax.set_xticks(ticks, labels, fontsize=8)
        ax.set_yticks(ticks, labels, fontsize=8)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_xlabel("false alarm rate: bona fide called spoof (%)", fontsize=8.5)
        ax.set_ylabel("miss rate: spoof called bona fide (%)", fontsize=8.5)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7.5, loc="upper right")
        if len(usable) > 1:
            ax.set_title(mpl_text(wrap(sweep.name, 40)), fontsize=10)
    fig.suptitle("DET curves: clean and the worst cells by ΔEER (probit axes)", fontsize=11.5)
    return fig


def snr_figure(sweeps: Sequence[Sweep]) -> Figure | None:
    """EER against measured SNR for the noise and codec families (one panel per family)."""
    panels = []
    for fam in SNR_FAMILIES:
        lines: dict[tuple[int, str], list[tuple[float, float]]] = {}
        for i, sweep in enumerate(sweeps):
            for c in sweep.cells:
                snr = c.get("measured_snr_db")
                if family_of(c) == fam and is_number(snr) and is_number(c.get("eer")):
                    lines.setdefault((i, str(c.get("series") or c.get("corruption") or c.get("cell_id"))), []).append(
                        (float(snr), float(c["eer"])))
        if lines:
            panels.append((fam, lines))
    if not panels:
        return None
    fig = Figure(figsize=(5.4 * len(panels) + 0.6, 4.4), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (fam, lines) in zip(axes, panels):
        for k, ((i, series), points) in enumerate(sorted(lines.items())):
            points.sort()
            name = series if len(sweeps) == 1 else f"{sweeps[i].name}: {series}"
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="os^Dv"[i % 5], color=color(k),
                    ls=("-", "--", ":", "-.")[i % 4], lw=1.5, label=mpl_text(name))
        for sweep in sweeps:
            if is_number(sweep.clean.get("eer")):
                ax.axhline(float(sweep.clean["eer"]), color="0.3", ls="--", lw=1.0)
        ax.invert_xaxis()  # lower SNR (harsher) to the right
        ax.set_xlabel("measured SNR of the corrupted audio (dB, median over clips; harsher →)", fontsize=8.5)
        ax.set_ylabel("EER (fraction)", fontsize=8.5)
        ax.set_ylim(0.0, 1.0)
        ax.grid(True, alpha=0.3)
        ax.set_title(fam, fontsize=10)
        ax.legend(fontsize=7.5)
    fig.suptitle("EER vs measured SNR (dashed: clean EER)", fontsize=11.5)
    return fig


def auto_bins(values: np.ndarray) -> np.ndarray:
    """numpy's ``"auto"`` bin edges over the values' own range, at most :data:`MAX_BINS` bins.

    >>> len(auto_bins(np.array([0.0, 0.0, 0.0])))
    2
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0 or finite.min() == finite.max():
        centre = float(finite[0]) if finite.size else 0.0
        return np.array([centre - 0.5, centre + 0.5])
    edges = np.histogram_bin_edges(finite, bins="auto")
    return edges if len(edges) - 1 <= MAX_BINS else np.linspace(finite.min(), finite.max(), MAX_BINS + 1)


def raw_score_figure(sweeps: Sequence[Sweep]) -> Figure | None:
    """raw_score by class, clean vs the worst cell, one row per sweep; shared auto-ranged bins per row."""
    usable = [s for s in sweeps if s.rows and any(is_number(r.get("raw_score")) for r in s.rows)]
    if not usable:
        return None
    fig = Figure(figsize=(9.5, 2.9 * len(usable) + 0.9), layout="constrained")
    axes = fig.subplots(len(usable), 2, squeeze=False)
    for row, sweep in enumerate(usable):
        worst = worst_cells(sweep, 1)
        cells = ["clean"] + [str(worst[0]["cell_id"])] if worst else ["clean"]
        data = {cid: cell_scores(sweep, cid, "raw_score") for cid in cells}
        edges = auto_bins(np.concatenate([d[0] for d in data.values()]))
        thr = sweep.clean.get("threshold") if eer_score_column(sweep) == "raw_score" else None
        for col, cid in enumerate(cells):
            ax = axes[row, col]
            scores, spoof = data[cid]
            for mask, c, name in ((~spoof, BONAFIDE_COLOR, "bona fide"), (spoof, SPOOF_COLOR, "spoof")):
                ax.hist(scores[mask], bins=edges, color=c, alpha=0.55, edgecolor=c, lw=0.6,
                        label=f"{name} (n={int(mask.sum())})")
            if is_number(thr):
                ax.axvline(float(thr), color="black", ls="--", lw=1.3, label=f"clean threshold τ = {float(thr):.3g}")
            ax.set_title(mpl_text(wrap(f"{sweep.name + ': ' if len(usable) > 1 else ''}{cid}", 60)), fontsize=9.5)
            ax.set_xlabel(f"raw_score ({len(edges) - 1} auto bins)", fontsize=8.5)
            ax.set_ylabel("clips", fontsize=8.5)
            ax.legend(fontsize=7.5)
        if len(cells) == 1:
            axes[row, 1].set_axis_off()
    fig.suptitle("raw_score distributions (bins fitted to the scores' range)", fontsize=11.5)
    return fig


def trade_off_plots(sweeps: Sequence[Sweep], out_dir: Path) -> list[PlotFile]:
    """The DET, EER-vs-SNR and raw_score figures the data supports."""
    files: list[PlotFile] = []
    for name, title, make, section, caption in (
        ("det", "DET curves", det_figure, "Scores",
         "Miss rate against false-alarm rate on probit axes for the clean cell (black) and the cells with the "
         "largest ΔEER, from the per-clip scores the EER is computed on. Lower-left is better."),
        ("eer_vs_snr", "EER vs measured SNR", snr_figure, "Overview",
         "Each noise and codec cell's EER at the median SNR measured between its corrupted audio and the clean clip; "
         "one line per corruption. This puts codecs and noise on one physical axis."),
        ("raw_score_histograms", "raw_score distributions", raw_score_figure, "Scores",
         "The detector's raw_score by class for clean and the worst cell, with bins fitted to the scores' own range "
         "(numpy 'auto'), and the clean operating threshold τ."),
    ):
        fig = make(sweeps)
        if fig is not None:
            png, svg, data = save_figure(fig, out_dir, name)
            files.append(PlotFile(name, title, caption, png, svg, section, data))
    return files
