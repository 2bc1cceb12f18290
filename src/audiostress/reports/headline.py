"""The headline of a sweep: worst cells by ΔEER, flip rate and FPR/FNR at the clean threshold, failed cells,
and the "what next" box (the replay command for the worst clip and a gate that would catch it).

A cell where every clip failed (``n == 0`` with ``errors > 0``) has no metric to
rank; it is listed as failed, in red, with its first error message, and never
looks like a cell that is not in the grid.

The gate is written in the pytest plugin's grammar (``METRIC[CELLS] OP VALUE``,
:mod:`audiostress.testing.grammar`): ``delta_eer[<series>@*] <= 0.05`` for the
worst cell by ΔEER, ``flip_rate[...] <= 0.1`` for the worst by flip rate, each
only when it fails on this sweep (its bound is lowered to half the observed value
when the default would pass). ``[`` and ``]`` in a cell id become ``?`` in the glob.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping
from typing import Any

from .html_sections import esc, first_error
from .listen_html import load_index
from .load import Sweep
from .tables import fmt_num, is_number, worst_cells

#: (metric key, what the column shows) of the headline's worst-cell lists.
HEADLINE_METRICS = (
    ("delta_eer", "ΔEER"),
    ("flip_rate", "flip rate at τ"),
    ("fnr_at_clean_threshold", "FNR at τ (spoof passed as bona fide)"),
    ("fpr_at_clean_threshold", "FPR at τ (bona fide called spoof)"),
)
#: Default gate bounds of the "what next" box, per metric.
GATE_BOUNDS = {"delta_eer": 0.05, "flip_rate": 0.1}


def worst_by(sweep: Sweep, metric: str, n: int = 5) -> list[dict[str, Any]]:
    """The ``n`` cells with the largest ``metric`` (cells without it left out)."""
    cells = [c for c in sweep.cells if is_number(c.get(metric))]
    return sorted(cells, key=lambda c: (-float(c[metric]), str(c.get("cell_id"))))[:n]


def failed_cells(sweep: Sweep) -> list[tuple[dict[str, Any], str]]:
    """``(cell, first error message)`` for each cell where every clip failed."""
    return [(c, first_error(sweep, c)) for c in sweep.cells
            if c.get("n") == 0 and is_number(c.get("errors")) and c["errors"] > 0]


def failed_html(sweep: Sweep) -> str:
    rows = "".join(f'<li data-cell-id="{esc(c.get("cell_id"))}"><strong>{esc(c.get("cell_id"))}</strong>: all '
                   f'{esc(c.get("errors"))} clip(s) failed: <code>{esc(msg)}</code></li>' for c, msg in failed_cells(sweep))
    return f'<div class="failed" data-key="failed_cells"><strong>Failed cells</strong><ul>{rows}</ul></div>' if rows else ""


def worst_html(sweep: Sweep, n: int = 5) -> str:
    """The four worst-cell lists side by side."""
    boxes = []
    for metric, title in HEADLINE_METRICS:
        cells = worst_by(sweep, metric, n)
        rows = "".join(f'<tr><td>{esc(c.get("cell_id"))}</td><td class="num" data-value="{esc(c.get(metric))}">'
                       f"{fmt_num(c.get(metric), 3)}</td></tr>" for c in cells)
        boxes.append(f'<div class="worst" data-key="worst_{metric}"><h4>worst by {esc(title)}</h4>'
                     + (f"<table class=\"small\"><tbody>{rows}</tbody></table>" if rows else "<p>–</p>") + "</div>")
    return ('<p>τ is the clean operating threshold, kept fixed as a deployed detector keeps it: a cell can keep its '
            'EER and still pass every spoof at τ.</p><div class="worst-row">' + "".join(boxes) + "</div>")


def cell_glob(cell: Mapping[str, Any]) -> str:
    """The gate's cell selection for a cell's whole series (``mp3@*``), or the cell itself; brackets as ``?``.

    >>> cell_glob({"cell_id": "opus[nb]@2", "series": "opus[nb]", "severity": 2})
    'opus?nb?@*'
    >>> cell_glob({"cell_id": "mp3{bitrate_kbps=8}", "series": "mp3{bitrate_kbps=8}", "severity": None})
    'mp3{bitrate_kbps=8}'
    """
    cid = str(cell.get("cell_id"))
    series = cell.get("series")
    text = f"{series}@*" if isinstance(series, str) and series and cid.startswith(f"{series}@") else cid
    return text.replace("[", "?").replace("]", "?")


def catching_bound(observed: Any, default: float) -> float | None:
    """A bound that ``observed <= bound`` fails: ``default``, or half the observed value (2 decimals), else None.

    >>> catching_bound(0.3, 0.05), catching_bound(0.04, 0.05), catching_bound(0.0, 0.05)
    (0.05, 0.02, None)
    """
    if not is_number(observed) or observed <= 0:
        return None
    if observed > default:
        return default
    bound = math.floor(observed * 50) / 100
    return bound if 0 < bound < observed else None


def suggested_gates(sweep: Sweep) -> list[str]:
    """Gates in the pytest plugin's grammar that this sweep fails (so they would catch the regression)."""
    gates = []
    for metric, default in GATE_BOUNDS.items():
        worst = worst_by(sweep, metric, 1)
        bound = catching_bound(worst[0].get(metric), default) if worst else None
        if bound is not None:
            gate = f"{metric}[{cell_glob(worst[0])}] <= {bound:g}"
            if gate not in gates:
                gates.append(gate)
    return gates


def worst_clip(sweep: Sweep, cell_id: str) -> dict[str, Any] | None:
    """The clip of ``cell_id`` to listen to first: the listening index's first entry, else the largest |Δp_fake|."""
    index = load_index(sweep)
    entries = (index or {}).get("cells", {}).get(cell_id) if index else None
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        return entries[0]
    clean = {r["clip_id"]: r["p_fake"] for r in sweep.rows or []
             if r.get("cell_id") == "clean" and r.get("p_fake") is not None and not r.get("error")}
    best: dict[str, Any] | None = None
    for r in sweep.rows or []:
        if r.get("cell_id") == cell_id and r.get("p_fake") is not None and not r.get("error") and r["clip_id"] in clean:
            delta = float(r["p_fake"]) - float(clean[r["clip_id"]])
            if best is None or abs(delta) > abs(best["delta_p_fake"]):
                best = {"clip_id": r["clip_id"], "cell_id": cell_id, "delta_p_fake": delta, "p_fake": r["p_fake"],
                        "p_fake_clean": clean[r["clip_id"]]}
    return best


def what_next_html(sweep: Sweep) -> str:
    """The "what next" box: listen to the worst clip, then pin the regression with a gate."""
    worst = worst_cells(sweep, 1) or worst_by(sweep, "flip_rate", 1)
    if not worst:
        return ""
    cid = str(worst[0].get("cell_id"))
    clip = worst_clip(sweep, cid)
    parts = ['<div class="next" data-key="what_next"><strong>What next</strong><ol>']
    if clip is not None:
        cmd = clip.get("replay") or (f"audiostress replay {shlex.quote(str(sweep.path))} --clip-id "
                                     f"{shlex.quote(str(clip['clip_id']))} --cell-id {shlex.quote(cid)} -o worst.wav")
        parts.append(f"<li>Listen to the worst clip of the worst cell ({esc(cid)}: {esc(clip['clip_id'])}, p_fake "
                     f"{fmt_num(clip.get('p_fake_clean'), 3)} → {fmt_num(clip.get('p_fake'), 3)}); this writes exactly "
                     f'the audio the detector scored:<pre data-key="replay_command">{esc(cmd)}</pre></li>')
    gates = suggested_gates(sweep)
    if gates:
        quoted = " ".join(f"--gate {shlex.quote(g)}" for g in gates)
        parts.append("<li>Pin it with a gate that fails on this sweep (pytest: <code>result.check(...)</code>, or "
                     f'the CLI):<pre data-key="gate">{esc(chr(10).join(gates))}</pre>'
                     f"<pre>{esc(f'audiostress check {shlex.quote(str(sweep.path))} {quoted}')}</pre></li>")
    return "".join(parts) + "</ol></div>"
