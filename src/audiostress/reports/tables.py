"""Tabular views of metrics.json shared by the plots, the HTML and summary.md.

Nothing here recomputes a metric: it groups, sorts and labels what the sweep
wrote. The only aggregates are the ranking's mean ΔEER over cells (shown as
such); the attack matrix reads the paired per-attack ΔEER from
``per_attack_delta``.

Everything about a cell comes from its entry in metrics.json: ``family`` (the
panel), ``series`` (the curve), ``severity`` and ``axis`` (the x ticks and their
unit). Nothing is parsed out of a cell id and the corruption registry is never
consulted, so a sweep renders the same whatever corruptions the installed code
knows. A metrics.json written before cells carried ``series``/``axis`` falls back
to what the file has: each cell is a series of its own unless its ``severity``
and ``corruption`` place it on the corruption's curve, and the axis is the
parameter that varies across the series' ``params`` (unit guessed from the name
suffix).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from ..metrics.cross_cell import CODEC_PAIR_GATE_MAX, CODEC_PAIR_GATE_MEAN
from .load import Sweep

#: Report panel groups, in reading order: (key, title, corruption families).
PANEL_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("noise", "Noise", ("noise",)),
    ("filtering", "Filtering and modification", ("filter", "modification")),
    ("codecs", "Lossy codecs", ("codec",)),
    ("neural_codecs", "Neural codecs", ("neural_codec",)),
    ("other", "Other", ()),
)

#: The marker after a value computed from fewer than ``SMALL_N`` clips of a class (``small_n`` in metrics.json).
SMALL_N_MARK = "†"

#: ArtifactBench codec-pair gates (ANCHORS.md), used when metrics.json does not carry them.
GATE_MEAN = CODEC_PAIR_GATE_MEAN
GATE_MAX = CODEC_PAIR_GATE_MAX

def family_of(cell: Mapping[str, Any]) -> str:
    """A cell's corruption family as metrics.json records it.

    Files written before cascades recorded their stages' family say ``graph``; those
    cascades were codec chains, so they are shown with the codecs.
    """
    fam = cell.get("family")
    if fam == "graph":
        return "codec"
    return str(fam) if fam else "unknown"


def panel_of(cell: Mapping[str, Any]) -> str:
    """The panel group key (see ``PANEL_GROUPS``) a cell is drawn in."""
    fam = family_of(cell)
    for key, _, families in PANEL_GROUPS:
        if fam in families:
            return key
    return "other"


def series_key(cell: Mapping[str, Any]) -> str:
    """The curve a cell belongs to: its ``series`` (``opus[nb]`` for ``opus[nb]@2``).

    Without ``series`` (an older file) a cell with a severity 1..5 and no table of
    its own joins its ``corruption``'s curve when its id is exactly
    ``corruption@severity``; any other cell is a series of its own (its id).
    """
    series = cell.get("series")
    if isinstance(series, str) and series:
        return series
    cid = str(cell.get("cell_id", ""))
    sev, name = severity_of(cell), cell.get("corruption")
    if sev is not None and isinstance(name, str) and cid == f"{name}@{sev}":
        return name
    return cid


def severity_of(cell: Mapping[str, Any]) -> int | None:
    """The cell's severity 1..5; ``None`` for a cell given by explicit parameters (or clean)."""
    sev = cell.get("severity")
    return int(sev) if isinstance(sev, (int, float)) and not isinstance(sev, bool) and 1 <= sev <= 5 else None


#: Series slot of a cell given by explicit parameters instead of a severity.
FIXED = 0


@dataclass
class Series:
    """One corruption's cells over severity, for one or more sweeps."""

    key: str
    corruption: str
    panel: str
    severities: list[int]
    #: sweep index -> {severity (or FIXED): cell}
    cells: dict[int, dict[int, dict[str, Any]]]


def collect_series(sweeps: Sequence[Sweep]) -> list[Series]:
    """Every corruption series across ``sweeps``, in panel order; cells without a severity sit in slot ``FIXED``."""
    found: dict[str, Series] = {}
    for i, sweep in enumerate(sweeps):
        for cell in sweep.cells:
            sev = severity_of(cell)
            if sev is None:  # explicit parameters, no severity: slot 0 ("fixed"), heatmap only
                sev = FIXED
            key = series_key(cell)
            s = found.get(key)
            if s is None:
                s = found[key] = Series(key, str(cell.get("corruption", key)), panel_of(cell), [], {})
            s.cells.setdefault(i, {})[sev] = cell
            if sev not in s.severities:
                s.severities.append(sev)
    order = {key: n for n, (key, _, _) in enumerate(PANEL_GROUPS)}
    out = sorted(found.values(), key=lambda s: (order.get(s.panel, 99), s.key))
    for s in out:
        s.severities.sort()
    return out


def has_curve(series: Series) -> bool:
    """True when the series has at least one cell with a severity 1..5."""
    return any(sev != FIXED for sev in series.severities)


#: Units guessed from a parameter-name suffix, for files whose cells carry no ``axis``.
_SUFFIX_UNITS = {"db": "dB", "hz": "Hz", "khz": "kHz", "kbps": "kbps", "ms": "ms", "s": "s", "semitones": "semitones"}


def guess_unit(param: str) -> str:
    """``snr_db`` -> ``dB``: the unit a parameter name's suffix spells ('' when none)."""
    return _SUFFIX_UNITS.get(param.rsplit("_", 1)[-1].lower(), "") if "_" in param else ""


def param_label(param: str, unit: str | None = None) -> str:
    """``bitrate_kbps`` in ``kbps`` -> ``bitrate (kbps)``; ``mp3.bitrate_kbps`` -> ``mp3 bitrate (kbps)``.

    The unit is not repeated when the name already ends with it; ``unit=None``
    guesses it from the name's suffix.
    """
    if unit is None:
        unit = guess_unit(param)
    base = param
    if unit:
        suffix = "_" + "".join(ch for ch in unit.lower() if ch.isalnum())
        if base.endswith(suffix) and len(base) > len(suffix):
            base = base[: -len(suffix)]
        elif base.endswith("_" + unit.lower().replace(" ", "_")):
            base = base[: -len(unit) - 1]
    base = base.replace("_", " ").replace(".", " ")
    return f"{base} ({unit})" if unit and unit != base else base


def fmt_value(value: Any) -> str:
    """A parameter value for an axis tick: ``24.0`` -> ``24``, ``0.125`` -> ``0.125``."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.3g}"
    if isinstance(value, dict):
        return ",".join(f"{k}={fmt_value(v)}" for k, v in value.items())
    return str(value)


@dataclass
class SeverityAxis:
    """How a series' severity axis is labelled."""

    label: str
    ticks: dict[int, str]
    title_suffix: str
    #: The parameter on the axis (``None`` for plain severity levels).
    param: str | None = None
    #: Its value per severity (the raw values behind ``ticks``).
    values: dict[int, Any] | None = None


def flat_params(params: Any, prefix: str = "") -> dict[str, Any]:
    """Nested cascade params ``{stage: {p: v}}`` as ``{"stage.p": v}``."""
    if not isinstance(params, Mapping):
        return {}
    out: dict[str, Any] = {}
    for k, v in params.items():
        out.update(flat_params(v, f"{prefix}{k}.") if isinstance(v, Mapping) else {f"{prefix}{k}": v})
    return out


def severity_axis(series: Series) -> SeverityAxis:
    """Tick labels from the parameter that varies with severity, e.g. ``mp3 bitrate (kbps): 40 → 8``.

    The parameter, its unit and each cell's value come from the cells' ``axis``;
    cells without one (older files) use the parameter that varies across the
    series' ``params``, or a single cell's first numeric parameter.
    """
    by_sev: dict[int, Mapping[str, Any]] = {}
    for cells in series.cells.values():
        for sev, cell in cells.items():
            if sev != FIXED:
                by_sev.setdefault(sev, cell)
    sevs = sorted(by_sev)
    params = {s: flat_params(by_sev[s].get("params")) for s in sevs}
    keys = list(dict.fromkeys(k for s in sevs for k in params[s]))
    varying = [k for k in keys if len({repr(params[s].get(k)) for s in sevs}) > 1]
    axes = {s: by_sev[s].get("axis") for s in sevs}
    named = [a for a in axes.values() if isinstance(a, Mapping) and a.get("param")]
    if named:
        key, unit = str(named[0]["param"]), named[0].get("unit")
        values = {s: (a.get("value") if isinstance(a, Mapping) and a.get("param") == key else params[s].get(key))
                  for s, a in axes.items()}
        label = param_label(key, str(unit) if unit is not None else None)
        others = [k for k in varying if k != key]
    else:
        if not varying and len(sevs) == 1:  # one cell: its first numeric parameter
            varying = [k for k in keys if isinstance(params[sevs[0]].get(k), (int, float))][:1]
        if not varying:
            return SeverityAxis("severity level", {s: str(s) for s in sevs}, "")
        key = varying[0]
        values = {s: params[s].get(key) for s in sevs}
        label = param_label(key)
        others = varying[1:]
    more = f" (+{len(others)} more)" if others else ""
    ticks = {s: fmt_value(values[s]) for s in sevs}
    first, last = ticks[sevs[0]], ticks[sevs[-1]]
    span = f"{first} → {last}" if len(sevs) > 1 else f"{first} (severity {sevs[0]})"
    return SeverityAxis(f"{label}{more}", ticks, f"{label}: {span}", key, values)


def worst_cells(sweep: Sweep, n: int = 5) -> list[dict[str, Any]]:
    """The ``n`` cells with the largest ΔEER (cells without a ΔEER last)."""
    cells = [c for c in sweep.cells if is_number(c.get("delta_eer"))]
    return sorted(cells, key=lambda c: -float(c["delta_eer"]))[:n]


def is_number(value: Any) -> TypeGuard[int | float]:
    """True for a finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _gate_pass(value: Any, gate: Any) -> bool | None:
    """``value <= gate``; None when either is not a finite number (not measured, or a malformed gate)."""
    return float(value) <= float(gate) if is_number(value) and is_number(gate) else None


def codec_pair(sweep: Sweep) -> dict[str, Any] | None:
    """The codec-pair block with its gates and pass/fail per gate, or None when the sweep has none.

    ``pass_mean`` / ``pass_max`` / ``pass`` are None ("not measured") when the
    value or its gate is missing or not a number; ``pass`` is the block's own
    verdict when it is a bool.
    """
    block = sweep.metrics.get("codec_pair")
    if not isinstance(block, dict):
        return None
    out = dict(block)
    gate_mean = out.get("gate_mean", GATE_MEAN)
    gate_max = out.get("gate_max", GATE_MAX)
    out["gate_mean"], out["gate_max"] = gate_mean, gate_max
    out["pass_mean"] = _gate_pass(out.get("mean"), gate_mean)
    out["pass_max"] = _gate_pass(out.get("max"), gate_max)
    verdict = out.get("pass")
    if not isinstance(verdict, bool):
        both = (out["pass_mean"], out["pass_max"])
        verdict = None if None in both or "pass" in block else all(both)
    out["pass"] = verdict
    return out


def coverage(sweep: Sweep) -> dict[str, Any]:
    """Scored/errored counts: the metrics ``coverage`` block when present, else the listed errors."""
    block = sweep.metrics.get("coverage")
    if isinstance(block, dict):
        return dict(block)
    errors = sweep.metrics.get("errors") or []
    n_rows = len(sweep.rows) if sweep.rows is not None else None
    return {"errors": len(errors), "rows": n_rows}


def coverage_text(sweep: Sweep) -> str:
    """One line: scored / expected pairs and failures, from the coverage block (or the error list)."""
    cov = coverage(sweep)
    if is_number(cov.get("pairs_expected")) and is_number(cov.get("pairs_scored")):
        frac = cov.get("fraction_scored")
        pct = f" ({100 * float(frac):.1f}%)" if is_number(frac) else ""
        text = (f"{int(cov['pairs_scored'])} of {int(cov['pairs_expected'])} (clip, cell) pairs scored{pct}, "
                f"{int(cov.get('pairs_failed') or 0)} failed, {int(cov.get('pairs_missing') or 0)} missing")
        if is_number(cov.get("clips_skipped")) and cov["clips_skipped"] > 0:
            text += (f", {int(cov['clips_skipped'])} dataset row(s) skipped "
                     f"({int(cov.get('pairs_skipped') or 0)} pairs)")
        if is_number(cov.get("pairs_retried")) and cov["pairs_retried"] > 0:
            text += f", {int(cov['pairs_retried'])} pair(s) retried"
        return text
    parts = [f"{k}: {v}" for k, v in cov.items() if not isinstance(v, (dict, list))]
    return ", ".join(parts) or "n/a"


def mean_delta_eer(sweep: Sweep) -> float | None:
    """Mean ΔEER over the corrupted cells that have one."""
    vals = [float(c["delta_eer"]) for c in sweep.cells if is_number(c.get("delta_eer"))]
    return sum(vals) / len(vals) if vals else None


def ranking(sweeps: Sequence[Sweep]) -> list[dict[str, Any]]:
    """One row per detector, most robust first (lowest mean ΔEER)."""
    rows = []
    for s in sweeps:
        worst = worst_cells(s, 1)
        cp = codec_pair(s)
        rows.append(
            {
                "detector": s.name,
                "clean_eer": s.clean.get("eer"),
                "mean_delta_eer": mean_delta_eer(s),
                "worst_cell": worst[0]["cell_id"] if worst else None,
                "worst_delta_eer": worst[0]["delta_eer"] if worst else None,
                "codec_pair_mean": cp.get("mean") if cp else None,
                "codec_pair_max": cp.get("max") if cp else None,
                "codec_pair_pass": cp.get("pass") if cp else None,
                "partial": s.partial,
            }
        )
    return sorted(rows, key=lambda r: (r["mean_delta_eer"] is None, r["mean_delta_eer"] or 0.0))


#: The sortable metrics table: (cell key, header, kind). kind "num" sorts numerically.
METRIC_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("cell_id", "cell", "text"),
    ("corruption", "corruption", "text"),
    ("family", "family", "text"),
    ("severity", "severity", "num"),
    ("params", "params", "text"),
    ("n", "n", "num"),
    ("errors", "errors", "num"),
    ("eer", "EER", "num"),
    ("eer_ci95", "EER 95% CI", "ci"),
    ("delta_eer", "ΔEER", "num"),
    ("delta_eer_ci95", "ΔEER 95% CI", "ci"),
    ("auroc", "AUROC", "num"),
    ("min_dcf", "minDCF", "num"),
    ("act_dcf", "actDCF", "num"),
    ("cllr", "Cllr (bits)", "num"),
    ("drift_mean_abs", "drift |Δp|", "num"),
    ("drift_ci95", "drift 95% CI", "ci"),
    ("drift_mean_signed", "drift Δp", "num"),
    ("flip_rate", "flip rate", "num"),
    ("flip_rate_ci95", "flip rate 95% CI", "ci"),
    ("fpr_at_clean_threshold", "FPR@τ", "num"),
    ("fnr_at_clean_threshold", "FNR@τ", "num"),
    ("accuracy_at_threshold", "accuracy@card", "num"),
    ("fpr_at_threshold", "FPR@card", "num"),
    ("fnr_at_threshold", "FNR@card", "num"),
    ("latency_ms_per_audio_s", "ms per audio s", "num"),
    ("measured_snr_db", "SNR (dB)", "num"),
    ("note", "note", "text"),
)
#: Columns shown only when some cell of the sweeps has a value (keys later metrics.json files added).
OPTIONAL_COLUMNS = frozenset({"cllr", "drift_ci95", "flip_rate_ci95", "accuracy_at_threshold", "fpr_at_threshold",
                              "fnr_at_threshold", "latency_ms_per_audio_s"})


def metric_columns(cells: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """``METRIC_COLUMNS`` without the optional ones no cell has a value for."""
    return [col for col in METRIC_COLUMNS
            if col[0] not in OPTIONAL_COLUMNS or any(c.get(col[0]) is not None for c in cells)]


def fmt_num(value: Any, digits: int = 4) -> str:
    """Numbers to ``digits`` decimals; missing values as an en dash."""
    if not is_number(value):
        return "–"
    return f"{float(value):.{digits}f}"


def fmt_ci(value: Any, digits: int = 3) -> str:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(is_number(v) for v in value):
        return f"[{float(value[0]):.{digits}f}, {float(value[1]):.{digits}f}]"
    return "–"
