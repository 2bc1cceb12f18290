"""Report figures from per-clip scores: p_fake histograms (clean vs worst cell); the attack matrix is drawn by
``plots_attack.py`` (``attack_matrix`` and ``attack_values`` are re-exported here).

The clean threshold in metrics.json is on the score the EER uses
(``settings.threshold_score``, ``raw_score`` when absent). The histograms show p_fake, so
the threshold is drawn at the p_fake of the clean clip whose EER score is the
threshold (the loader's p_fake is a monotone squashing of raw_score for single
scores), and the caption states both values.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..metrics.diagnostics import SMALL_N
from .load import Sweep
from .plots import PlotFile, mpl_text, save_figure, wrap
from .plots_attack import attack_matrix, attack_values

__all__ = ["attack_matrix", "attack_values", "eer_score_column", "score_distributions", "score_plots", "threshold_on_p"]
from .tables import is_number, worst_cells

#: Histogram bins over p_fake in [0, 1].
P_BINS = np.linspace(0.0, 1.0, 26)
BONAFIDE_COLOR = "#1f77b4"
SPOOF_COLOR = "#d62728"


def eer_score_column(sweep: Sweep) -> str:
    """Which scores.csv column the EER (and so the clean threshold) is computed on: ``settings.threshold_score``."""
    settings = sweep.metrics.get("settings")
    name = settings.get("threshold_score") if isinstance(settings, dict) else None
    return str(name) if name in ("raw_score", "p_fake") else "raw_score"


def threshold_on_p(sweep: Sweep) -> float | None:
    """The clean EER threshold expressed on p_fake, or None when it cannot be placed."""
    thr = sweep.clean.get("threshold")
    if not is_number(thr) or not sweep.rows:
        return None
    column = eer_score_column(sweep)
    if column == "p_fake":
        return float(thr)
    clean = [(r[column], r["p_fake"]) for r in sweep.rows
             if r.get("cell_id") == "clean" and r.get(column) is not None and r.get("p_fake") is not None]
    if not clean:
        return None
    clean.sort()
    raw = np.array([c[0] for c in clean])
    p = np.array([c[1] for c in clean])
    if np.any(np.diff(p) < -1e-12):  # p_fake not monotone in the EER score: no honest placement
        return None
    return float(np.interp(float(thr), raw, p))


def _scores(sweep: Sweep, cell_id: str, label: str) -> np.ndarray:
    vals = [r["p_fake"] for r in sweep.rows or [] if r.get("cell_id") == cell_id and r.get("label") == label
            and r.get("p_fake") is not None and not r.get("error")]
    return np.asarray(vals, dtype=float)


def score_distributions(sweeps: Sequence[Sweep]) -> Figure | None:
    """One row per sweep: p_fake histograms by class, clean vs the worst cell, threshold marked."""
    usable = [s for s in sweeps if s.rows]
    if not usable:
        return None
    fig = Figure(figsize=(9.5, 2.9 * len(usable) + 0.9), layout="constrained")
    axes = fig.subplots(len(usable), 2, squeeze=False)
    for row, sweep in enumerate(usable):
        worst = worst_cells(sweep, 1)
        panels = [("clean", "clean")] + ([(worst[0]["cell_id"], f"worst cell: {worst[0]['cell_id']}"
                                           f" (ΔEER {float(worst[0]['delta_eer']):+.3f})")] if worst else [])
        thr_p = threshold_on_p(sweep)
        for col, (cell_id, title) in enumerate(panels):
            ax = axes[row, col]
            for label, c, name in (("bonafide", BONAFIDE_COLOR, "bona fide"), ("spoof", SPOOF_COLOR, "spoof")):
                vals = _scores(sweep, cell_id, label)
                ax.hist(vals, bins=P_BINS, color=c, alpha=0.55, label=f"{name} (n={vals.size})", edgecolor=c, lw=0.6)
            if thr_p is not None:
                ax.axvline(thr_p, color="black", ls="--", lw=1.3, label=f"clean EER threshold (p≈{thr_p:.2f})")
            prefix = f"{sweep.name}: " if len(usable) > 1 else ""
            ax.set_title(mpl_text(wrap(prefix + title, 60)), fontsize=9.5)
            ax.set_xlabel("p_fake (probability of fake, 0–1)", fontsize=8.5)
            ax.set_ylabel("clips (count)", fontsize=8.5)
            ax.set_xlim(0, 1)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.legend(fontsize=7.5, framealpha=0.85, loc="best")
            ax.tick_params(labelsize=8)
        if len(panels) < 2:
            axes[row, 1].set_visible(False)
    fig.suptitle("Score distributions: clean vs the worst cell", fontsize=11.5)
    return fig


def score_plots(sweeps: Sequence[Sweep], out_dir: Path) -> list[PlotFile]:
    """The score-distribution and attack-matrix figures that the data supports."""
    files: list[PlotFile] = []
    fig = score_distributions(sweeps)
    if fig is not None:
        png, svg, data = save_figure(fig, out_dir, "score_distributions")
        files.append(PlotFile("score_distributions", "Score distributions", _dist_caption(sweeps), png, svg, "Scores", data))
    fig = attack_matrix(sweeps)
    if fig is not None:
        png, svg, data = save_figure(fig, out_dir, "attack_matrix")
        files.append(PlotFile("attack_matrix", "Attack × corruption ΔEER",
                              "Per-attack EER of each cell minus the clean EER of the same attack on the same clips "
                              "(the clips scored in both; bona fide clips are shared by every attack). Red = the "
                              "corruption hurts detection of that attack. A sweep whose metrics.json has no paired "
                              f"per-attack ΔEER shows the cells' per-attack EER instead.{_small_attacks(sweeps)}",
                              png, svg, "Scores", data))
    return files


def _dist_caption(sweeps: Sequence[Sweep]) -> str:
    parts = []
    for s in sweeps:
        thr: Any = s.clean.get("threshold")
        p = threshold_on_p(s)
        col = eer_score_column(s)
        where = f"{col} = {float(thr):.4g}" if is_number(thr) else "not available"
        shown = f", drawn at p_fake ≈ {p:.3f}" if p is not None and col != "p_fake" else ""
        parts.append(f"{s.name}: clean EER threshold on {where}{shown}")
    return ("Histograms of p_fake by class for the clean cell and the cell with the largest ΔEER. "
            + "; ".join(parts) + ".")


def _small_attacks(sweeps: Sequence[Sweep]) -> str:
    """A caption sentence naming the attacks whose clean per-attack EER rests on too few clips (``small_n``)."""
    parts = []
    for s in sweeps:
        counts = s.metrics.get("per_attack_counts")
        clean = counts.get("clean") if isinstance(counts, dict) else None
        if not isinstance(clean, dict):
            continue
        small = [f"{a} (n_spoof = {c.get('n_spoof')})" for a, c in sorted(clean.items())
                 if isinstance(c, dict) and c.get("small_n")]
        if small:
            parts.append((f"{s.name}: " if len(sweeps) > 1 else "") + ", ".join(small))
    if not parts:
        return ""
    return (f" † Fewer than {SMALL_N} clips of a class behind these attacks' EERs, too few to trust: "
            + "; ".join(parts) + ".")
