"""The attack × corruption matrix: per-attack ΔEER of each cell, readable at 55 cells.

The matrix is drawn transposed: one row per cell, one column per attack, so cell
ids read horizontally and never collide; rows are split into one block per panel
group (noise, filtering and modification, lossy codecs, neural codecs, other),
each block's height proportional to its cells. Several detectors sit side by
side on one colour scale. Attack names longer than :data:`ATTACK_LABEL_WIDTH`
characters wrap; constrained layout sizes the margins to the labels, so nothing
is clipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .load import Sweep
from .plots import FAILED_COLOR, mpl_text, wrap
from .tables import PANEL_GROUPS, is_number, panel_of

#: Characters per line of an attack label.
ATTACK_LABEL_WIDTH = 14
#: Inches per cell row and per attack column.
ROW_IN, COL_IN = 0.3, 0.62


def attack_values(sweep: Sweep) -> tuple[list[str], list[str], np.ndarray, bool] | None:
    """(attacks, cell ids, matrix, is_delta) for the attack matrix.

    The paired ΔEER from ``per_attack_delta`` (cell minus clean on the same clips)
    when metrics.json has it; otherwise the cells' per-attack EER from ``per_attack``
    (is_delta False): subtracting ``per_attack["clean"]``, computed on every clean
    clip, would mix clip sets whenever a clip failed in a cell.
    """
    delta = sweep.metrics.get("per_attack_delta")
    is_delta = isinstance(delta, dict) and bool(delta)
    per = delta if is_delta else sweep.metrics.get("per_attack")
    if not isinstance(per, dict) or not per:
        return None
    cell_ids = [c["cell_id"] for c in sweep.cells if isinstance(per.get(c["cell_id"]), dict)]
    attacks = sorted({a for cid in cell_ids for a in per[cid]})
    if not cell_ids or not attacks:
        return None
    data = np.full((len(attacks), len(cell_ids)), np.nan)
    for j, cid in enumerate(cell_ids):
        for i, atk in enumerate(attacks):
            v = per[cid].get(atk)
            if is_number(v):
                data[i, j] = float(v)
    return attacks, cell_ids, data, is_delta


def attack_matrix(sweeps: Sequence[Sweep]) -> Figure | None:
    """Cell x attack ΔEER (the ASVspoof evaluation package's view, transposed), split by panel group;
    one column of blocks per sweep."""
    blocks = [(s, v) for s in sweeps if (v := attack_values(s)) is not None]
    if not blocks:
        return None
    panel = {str(c.get("cell_id")): panel_of(c) for s, _ in blocks for c in s.cells}
    failed = [{str(c.get("cell_id")) for c in s.cells if c.get("n") == 0 and is_number(c.get("errors")) and c["errors"] > 0}
              for s, _ in blocks]
    groups = []
    for key, title, _ in PANEL_GROUPS:
        ids = list(dict.fromkeys(cid for _, v in blocks for cid in v[1] if panel.get(cid, "other") == key))
        if ids:
            groups.append((title, ids))
    n_attacks = max(len(v[0]) for _, v in blocks)
    longest = max(len(cid) for _, ids in groups for cid in ids)
    width = 1.8 + 0.075 * longest + (COL_IN * n_attacks + 1.2) * len(blocks)
    height = 1.6 + 0.85 * len(groups) + ROW_IN * sum(len(ids) for _, ids in groups)
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(len(groups), len(blocks), squeeze=False,
                        gridspec_kw={"height_ratios": [len(ids) + 1.2 for _, ids in groups]})
    finite = np.concatenate([v[2][np.isfinite(v[2])] for _, v in blocks])
    lim = max(0.02, float(np.abs(finite).max()) if finite.size else 0.02)  # one colour scale for every detector
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim)
    image = None
    for col, (sweep, (attacks, cells, data, is_delta)) in enumerate(blocks):
        for row, (title, ids) in enumerate(groups):
            ax = axes[row, col]
            grid = np.full((len(ids), len(attacks)), np.nan)
            for r, cid in enumerate(ids):
                if cid in cells:
                    grid[r] = data[:, cells.index(cid)]
            image = ax.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap="RdBu_r", norm=norm)
            ax.set_facecolor("0.88")
            for r, cid in enumerate(ids):
                if cid in failed[col]:  # every clip failed: a red row, never the grey of "no value"
                    ax.add_patch(Rectangle((-0.5, r - 0.5), len(attacks), 1, facecolor=FAILED_COLOR, edgecolor="none"))
                    ax.text((len(attacks) - 1) / 2, r, "FAILED", ha="center", va="center", fontsize=7, color="white",
                            fontweight="bold")
            for r in range(len(ids)):
                for j in range(len(attacks)):
                    v = grid[r, j]
                    if np.isfinite(v):
                        ax.text(j, r, f"{v:+.2f}", ha="center", va="center", fontsize=7,
                                color="white" if abs(v) > 0.6 * lim else "black")
            ax.set_yticks(range(len(ids)), [mpl_text(c) for c in ids] if col == 0 else [""] * len(ids), fontsize=7.5)
            last = row == len(groups) - 1
            ax.set_xticks(range(len(attacks)), [mpl_text(wrap(a, ATTACK_LABEL_WIDTH)) for a in attacks] if last
                          else [""] * len(attacks), rotation=45 if last else 0, ha="right" if last else "center",
                          fontsize=7.5)
            what = "ΔEER vs clean, same attack" if is_delta else "EER"
            top = f"{sweep.name}: {what}\n" if len(blocks) > 1 and row == 0 else (f"{what}\n" if row == 0 else "")
            ax.set_title(mpl_text(top + title), fontsize=9, loc="left")
    if image is not None:
        fig.colorbar(image, ax=list(axes.ravel()), label="ΔEER vs clean (fraction; red = worse)", shrink=0.6)
    fig.suptitle("Attack × corruption (one row per cell)", fontsize=11.5)
    return fig
