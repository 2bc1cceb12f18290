"""Where a curve's points sit: the parameter's own numeric axis, and curves for cells given by explicit parameters.

A severity series is drawn at its parameter's values (SNR in dB, cutoff in Hz,
bit rate in kbps; a cutoff given as a fraction of Nyquist in Hz when the
corruption rate is known), so the spacing of the points means something. When
the values fall as severity rises the axis is drawn right to left, so harsher is
always to the right; a span of a factor of :data:`LOG_RATIO` or more is drawn on
a log scale. A series whose points have no distinct numbers keeps the severity
levels 1..5.

Cells given by explicit parameters (no severity) that share a corruption and an
axis parameter form a curve of their own (:func:`explicit_series`), in ascending
order of that parameter's value.

>>> from audiostress.reports.tables import SeverityAxis
>>> x = x_axis(SeverityAxis("snr (dB)", {1: "40", 3: "20", 5: "5"}, "", "snr_db", {1: 40.0, 3: 20.0, 5: 5.0}), None)
>>> x.x, x.numeric, x.log, x.inverted
({1: 40.0, 3: 20.0, 5: 5.0}, True, True, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .load import Sweep
from .run_info import cutoff_hz, is_nyquist_fraction
from .tables import Series, SeverityAxis, is_number, panel_of, severity_of


@dataclass(frozen=True)
class XAxis:
    """Where a series' points sit: ``x[slot]``, on the parameter's own scale when ``numeric``."""

    x: dict[int, float]
    numeric: bool
    log: bool = False
    #: Values fall as severity rises (SNR, bitrate): drawn right to left, so harsher stays on the right.
    inverted: bool = False


#: A numeric axis spanning at least this ratio (all values > 0) is drawn on a log scale.
LOG_RATIO = 8.0


def x_axis(axis: SeverityAxis, rate: int | str | None) -> XAxis:
    """The parameter's values (a Nyquist fraction in Hz at a known rate) when every point has a distinct
    number; otherwise the severity levels 1..5 at equal spacing."""
    slots = sorted(axis.ticks)
    values = axis.values or {}
    if axis.param is None or not slots or not all(is_number(values.get(k)) for k in slots):
        return XAxis({k: float(k) for k in slots}, False)
    xs = {k: float(values[k]) for k in slots}
    if is_nyquist_fraction(axis.param) and isinstance(rate, int):
        xs = {k: cutoff_hz(v, rate) for k, v in xs.items()}
    ordered = [xs[k] for k in slots]
    if len(set(ordered)) != len(ordered):
        return XAxis({k: float(k) for k in slots}, False)
    positive = min(ordered) > 0
    log = positive and len(ordered) > 2 and max(ordered) / min(ordered) >= LOG_RATIO
    inverted = len(ordered) > 1 and all(b < a for a, b in zip(ordered, ordered[1:]))
    return XAxis(xs, True, log, inverted)


def explicit_series(sweeps: Sequence[Sweep]) -> list[Series]:
    """Curves of the cells given by explicit parameters: one per (corruption, axis parameter), its points in
    ascending order of the parameter's value (slots 1, 2, ...), so they plot on the parameter's axis.

    Only cells whose ``axis`` names a parameter with a numeric value take part.
    """
    groups: dict[tuple[str, str], dict[int, dict[float, dict[str, Any]]]] = {}
    panels: dict[tuple[str, str], str] = {}
    for i, sweep in enumerate(sweeps):
        for cell in sweep.cells:
            axis = cell.get("axis")
            if severity_of(cell) is not None or not isinstance(axis, Mapping) or not axis.get("param"):
                continue
            value = axis.get("value")
            if not is_number(value):
                continue
            key = (str(cell.get("corruption", cell.get("cell_id"))), str(axis["param"]))
            groups.setdefault(key, {}).setdefault(i, {})[float(value)] = cell
            panels.setdefault(key, panel_of(cell))
    out = []
    for (name, param), by_sweep in sorted(groups.items()):
        values = sorted({v for cells in by_sweep.values() for v in cells})
        slot = {v: n for n, v in enumerate(values, start=1)}
        cells = {i: {slot[v]: c for v, c in per.items()} for i, per in by_sweep.items()}
        out.append(Series(f"{name} ({param}, explicit)", name, panels[(name, param)], list(slot.values()), cells))
    return out
