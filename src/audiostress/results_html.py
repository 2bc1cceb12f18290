"""The compact HTML table a ``SweepResult`` shows in Jupyter (``_repr_html_``).

Every string from the sweep (detector name, cell ids, notes) is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any, Protocol

#: Cell columns of the notebook table: (metrics.json key, header).
COLUMNS = (
    ("n", "n"),
    ("eer", "EER"),
    ("delta_eer", "ΔEER"),
    ("delta_eer_ci95", "ΔEER 95% CI"),
    ("flip_rate", "flip rate"),
    ("fpr_at_clean_threshold", "FPR @ clean thr."),
    ("fnr_at_clean_threshold", "FNR @ clean thr."),
    ("drift_mean_abs", "mean |Δp|"),
)
#: More cells than this are cut, with a line saying how many are hidden.
MAX_ROWS = 60


class _Result(Protocol):
    @property
    def metrics(self) -> Any: ...
    @property
    def detector_name(self) -> str: ...
    @property
    def out_dir(self) -> Any: ...


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return f"[{_fmt(value[0])}, {_fmt(value[1])}]"
    return escape(str(value))


def sweep_html(result: _Result) -> str:
    """A small self-contained table: detector, clean EER, then one row per cell."""
    metrics = result.metrics
    clean = metrics.get("clean") or {}
    cells = [c for c in metrics.get("cells") or [] if c.get("cell_id") != "clean"]
    head = "".join(f"<th>{escape(title)}</th>" for _, title in COLUMNS)
    rows = []
    for cell in cells[:MAX_ROWS]:
        values = "".join(f"<td>{_fmt(cell.get(key))}</td>" for key, _ in COLUMNS)
        rows.append(f"<tr><td><code>{escape(str(cell.get('cell_id', '')))}</code></td>{values}</tr>")
    if len(cells) > MAX_ROWS:
        rows.append(f"<tr><td colspan='{len(COLUMNS) + 1}'>… {len(cells) - MAX_ROWS} more cells (see .to_pandas('cells'))</td></tr>")
    summary = (
        f"<b>{escape(result.detector_name)}</b> · clean EER {_fmt(clean.get('eer'))} "
        f"(n={_fmt(clean.get('n'))}: {_fmt(clean.get('n_bonafide'))} bona fide, {_fmt(clean.get('n_spoof'))} spoof) · "
        f"{len(cells)} cells · <code>{escape(str(result.out_dir))}</code>"
    )
    return (
        "<div class='audiostress-result'>"
        f"<p>{summary}</p>"
        f"<table><thead><tr><th>cell</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</div>"
    )
