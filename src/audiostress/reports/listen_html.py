"""The report's listening section: players for the clips that flipped most per cell, and for the most fragile clips.

The excerpts are made when the sweep exports (``runners/listen.py``: replayed
from the store, so they are exactly what the detector scored) into
``SWEEP_DIR/listen/`` with ``index.json``; the report only reads those files and
embeds each as a ``data:`` URI in an ``<audio>`` element, so the page stays one
self-contained file. It never imports the corruption registry or a codec.

The page is bounded: at most :data:`MAX_AUDIO_BYTES` of encoded audio are
embedded (base64 adds a third). Cells are embedded worst first (flip rate, then
ΔEER), then the fragile clips; a player past the cap becomes a link to its file
in ``listen/``. Each player states its excerpt (``data-n-samples``,
``data-sample-rate``, ``data-duration-s``, and the offsets in the text).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .html_sections import badge, esc
from .load import Sweep
from .tables import fmt_num, is_number

#: Encoded audio bytes embedded in one page at most (about 5.6 MB once base64-encoded).
MAX_AUDIO_BYTES = 4_000_000
LISTEN_DIR = "listen"
INDEX_NAME = "index.json"
#: Cells whose player table starts open.
OPEN_CELLS = 3


def load_index(sweep: Sweep) -> dict[str, Any] | None:
    """``listen/index.json`` of the sweep, or ``None`` when absent or unreadable."""
    try:
        data = json.loads((sweep.path / LISTEN_DIR / INDEX_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("excerpts"), dict) else None


class _Budget:
    """Embeds excerpts until :data:`MAX_AUDIO_BYTES` are used; the rest become links."""

    def __init__(self, limit: int, out: Path) -> None:
        self.left, self.out = limit, out
        self.embedded = self.linked = self.used = 0

    def player(self, sweep: Sweep, index: Mapping[str, Any], key: Any) -> str:
        info = index["excerpts"].get(key) if isinstance(key, str) else None
        if not isinstance(info, dict) or "/" in str(info.get("file", "/")):
            return '<span class="na">–</span>'
        path = sweep.path / LISTEN_DIR / str(info["file"])
        try:
            data = path.read_bytes()
        except OSError:
            return f'<span class="na">missing {esc(info["file"])}</span>'
        stated = (f'data-n-samples="{esc(info.get("n_samples"))}" data-sample-rate="{esc(info.get("sample_rate"))}" '
                  f'data-duration-s="{esc(info.get("duration_s"))}"')
        span = f'{fmt_num(info.get("duration_s"), 2)} s from {fmt_num(info.get("start_s"), 2)} s'
        if len(data) > self.left:
            self.linked += 1
            href = os.path.relpath(path.resolve(), self.out.resolve())
            return (f'<a class="audio-link" {stated} href="{esc(Path(href).as_posix())}">{esc(info["file"])}</a>'
                    f'<br><span class="legend">{span}; not embedded (page cap)</span>')
        self.left -= len(data)
        self.used += len(data)
        self.embedded += 1
        mime = str(index.get("mime") or "audio/ogg")
        uri = f"data:{mime.replace(' ', '')};base64,{base64.b64encode(data).decode('ascii')}"
        return (f'<audio controls preload="metadata" {stated} src="{esc(uri)}"></audio>'
                f'<br><span class="legend">{span}</span>')


def _rows(sweep: Sweep, index: Mapping[str, Any], entries: Sequence[Any], budget: _Budget, extra: bool = False) -> str:
    rows = []
    for e in entries:
        if not isinstance(e, dict):
            continue
        where = f"<td>{esc(e.get('cell_id'))}</td>" if extra else ""
        rows.append(
            f'<tr data-clip-id="{esc(e.get("clip_id"))}"><td>{esc(e.get("clip_id"))}</td><td>{esc(e.get("label"))}</td>{where}'
            f'<td class="num">{fmt_num(e.get("p_fake_clean"), 3)} → {fmt_num(e.get("p_fake"), 3)}</td>'
            f'<td class="num">{fmt_num(e.get("delta_p_fake"), 3)}</td>'
            f'<td>{badge(None if e.get("flipped") is None else not e["flipped"], "kept", "flipped")}</td>'
            f'<td>{budget.player(sweep, index, e.get("clean"))}</td><td>{budget.player(sweep, index, e.get("corrupted"))}</td>'
            f'<td><code class="cmd">{esc(e.get("replay"))}</code></td></tr>')
    if not rows:
        return "<p>No clip of this cell could be replayed.</p>"
    head = "<th>cell</th>" if extra else ""
    return ('<table class="small listen"><thead><tr><th>clip</th><th>label</th>' + head +
            "<th>p_fake clean → cell</th><th>Δp_fake</th><th>decision at τ</th><th>clean</th><th>corrupted</th>"
            f"<th>replay (writes the scored audio)</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _cell_order(sweep: Sweep, cells: Mapping[str, Any]) -> list[str]:
    by_id = {str(c.get("cell_id")): c for c in sweep.cells}

    def key(cid: str) -> tuple[float, float, str]:
        c = by_id.get(cid, {})
        flip, delta = c.get("flip_rate"), c.get("delta_eer")
        return (-(float(flip) if is_number(flip) else -1.0), -(float(delta) if is_number(delta) else -1.0), cid)

    return sorted(cells, key=key)


def _fragility_table(sweep: Sweep) -> str:
    block = sweep.metrics.get("fragility")
    if not isinstance(block, dict) or not isinstance(block.get("distribution"), dict):
        return ""
    dist, never, tested = block["distribution"], block.get("never") or {}, block.get("tested") or {}
    sevs = sorted({int(s) for d in dist.values() if isinstance(d, dict) for s in d if str(s).isdigit()})
    head = "".join(f"<th>{s}</th>" for s in sevs)
    body = "".join(
        f'<tr data-series="{esc(series)}"><td>{esc(series)}</td>'
        + "".join(f'<td class="num">{esc(d.get(str(s), "–"))}</td>' for s in sevs)
        + f'<td class="num">{esc(never.get(series, "–"))}</td><td class="num">{esc(tested.get(series, "–"))}</td></tr>'
        for series, d in dist.items() if isinstance(d, dict))
    return ('<p>Per clip, the mildest severity of each corruption that flips its clean decision (metrics.json '
            '<code>fragility</code>): how many clips first flip at each severity.</p><table class="small" '
            f'data-key="fragility"><thead><tr><th>corruption</th>{head}<th>never</th><th>tested</th></tr></thead>'
            f"<tbody>{body}</tbody></table>")


def listen_html(sweeps: Sequence[Sweep], out: Path, limit: int = MAX_AUDIO_BYTES) -> str:
    """The listening section's body for every sweep (players embedded up to ``limit`` bytes in all)."""
    budget = _Budget(limit, out)
    parts = []
    for sweep in sweeps:
        title = f"<h3>{esc(sweep.name)}</h3>" if len(sweeps) > 1 else ""
        index = load_index(sweep)
        fragility = _fragility_table(sweep)
        if index is None:
            parts.append(f"{title}<p>No listening excerpts: <code>listen/index.json</code> is written when a sweep "
                         "exports (<code>audiostress sweep</code>, <code>merge</code>, <code>demo</code>) from its "
                         "<code>results.sqlite</code>.</p>" + fragility)
            continue
        found = index.get("cells")
        cells: dict[str, Any] = found if isinstance(found, dict) else {}
        blocks = []
        for n, cid in enumerate(_cell_order(sweep, cells)):
            entries = cells[cid] if isinstance(cells[cid], list) else []
            blocks.append(f'<details data-cell-id="{esc(cid)}"{" open" if n < OPEN_CELLS else ""}><summary>'
                          f"<strong>{esc(cid)}</strong>: {len(entries)} clip(s)</summary>"
                          f"{_rows(sweep, index, entries, budget)}</details>")
        fragile = index.get("fragile") if isinstance(index.get("fragile"), list) else []
        fragile_html = (f"<h4>Most fragile clips</h4>{fragility}<p>Each at the mildest cell that flips it.</p>"
                        f"{_rows(sweep, index, fragile, budget, extra=True)}" if fragile else fragility)
        skipped = index.get("skipped") if isinstance(index.get("skipped"), list) else []
        skip = f"<p class=\"legend\">{len(skipped)} excerpt(s) could not be replayed (listed in listen/index.json).</p>" if skipped else ""
        parts.append(
            f'{title}<p>Per cell, up to {esc(index.get("k", "?"))} clips: flipped decisions at the clean threshold τ '
            f"first, then the largest |Δp_fake|. Excerpts of at most {fmt_num(index.get('excerpt_max_s'), 1)} s "
            f"(the clip's loudest window), {esc(index.get('codec'))} {esc(index.get('bitrate_kbps'))} kbps mono, "
            "replayed from the sweep's store: what the detector scored.</p>" + "".join(blocks) + fragile_html + skip)
    cap = (f'<p class="legend" data-key="audio_budget" data-embedded="{budget.embedded}" data-linked="{budget.linked}" '
           f'data-bytes="{budget.used}">{budget.embedded} excerpt(s) embedded ({budget.used / 1e6:.2f} MB of audio, '
           f"cap {limit / 1e6:.1f} MB)" + (f"; {budget.linked} past the cap are links to listen/" if budget.linked else "")
           + ".</p>")
    return "".join(parts) + cap
