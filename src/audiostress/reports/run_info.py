"""How a sweep ran, in words: the corruption rate, the detector's effective input, cutoffs in Hz.

Everything comes from ``metrics.json``'s provenance: ``corrupt_rate`` (the rate
every clip was resampled to before corrupting, an int in Hz, or ``"native"``) and
``detector_input`` (``sample_rate, length, pad, crop, hop, windows_per_clip``).
A file written before these keys existed renders without them ("not recorded").

A filter parameter given as a fraction of Nyquist (``cutoff_fraction``,
``low_fraction``, ``high_fraction``) is a frequency only once the rate is known:
``fraction × rate / 2``. At a native rate it differs from file to file, and the
report says so instead of printing one number.

>>> cutoff_hz(0.3, 16000)
2400.0
>>> hz_suffix("cutoff_fraction", 0.3, 16000), hz_suffix("cutoff_fraction", 0.3, "native")
(' (2400 Hz)', " (Hz depends on each file's rate)")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from .load import Sweep
from .tables import SeverityAxis, flat_params, fmt_value, is_number

#: Parameters given as a fraction of the Nyquist frequency (the last part of a cascade's ``stage.param``).
NYQUIST_FRACTION_PARAMS = ("cutoff_fraction", "low_fraction", "high_fraction")
#: What the report says where a native-rate sweep has no single cutoff in Hz.
NATIVE_HZ = "Hz depends on each file's rate"


def corrupt_rate(sweep: Sweep) -> int | str | None:
    """``provenance.corrupt_rate``: Hz, ``"native"``, or ``None`` when not recorded (or malformed)."""
    rate = sweep.provenance.get("corrupt_rate")
    if is_number(rate) and float(rate).is_integer() and rate > 0:
        return int(rate)
    return "native" if rate == "native" else None


def corrupt_rate_text(sweep: Sweep) -> str:
    """One sentence on the rate the corruptions ran at."""
    rate = corrupt_rate(sweep)
    if rate == "native":
        return ("corruptions ran at each file's native rate: a cutoff given as a fraction of Nyquist is a different "
                "frequency on files of different rates")
    if isinstance(rate, int):
        return f"every clip was resampled to {rate} Hz before it was corrupted"
    return "not recorded (a sweep written before the corruption rate was recorded)"


def detector_input_text(sweep: Sweep) -> str:
    """The detector's effective input: rate, window length (or whole clip), crop, pad, hop, windows per clip."""
    info = sweep.provenance.get("detector_input")
    if not isinstance(info, Mapping):
        return "not recorded"
    rate, length = info.get("sample_rate"), info.get("length")
    parts = [f"{int(rate)} Hz" if is_number(rate) else "rate not recorded"]
    if is_number(length):
        seconds = f" ({float(length) / float(rate):.2f} s)" if is_number(rate) and rate > 0 else ""
        parts.append(f"{int(length)} samples{seconds}")
        parts += [f"{key} {info[key]}" for key in ("crop", "pad", "hop") if info.get(key) is not None]
    else:
        parts.append("whole clip")
    windows = info.get("windows_per_clip")
    if isinstance(windows, Mapping) and all(is_number(windows.get(k)) for k in ("min", "median", "max")):
        parts.append(f"windows per clip {fmt_value(windows['min'])} / {fmt_value(windows['median'])} / "
                     f"{fmt_value(windows['max'])} (min / median / max)")
    return ", ".join(parts)


def is_nyquist_fraction(param: str) -> bool:
    """True for a parameter (or cascade ``stage.param``) given as a fraction of Nyquist."""
    return param.rsplit(".", 1)[-1] in NYQUIST_FRACTION_PARAMS


def cutoff_hz(fraction: float, rate: int) -> float:
    """A fraction of Nyquist at ``rate`` Hz, in Hz."""
    return float(fraction) * rate / 2.0


def hz_suffix(param: str, value: Any, rate: int | str | None) -> str:
    """``" (2400 Hz)"`` after a Nyquist-fraction value; the native-rate note; ``""`` otherwise or unknown."""
    if not is_nyquist_fraction(param) or not is_number(value):
        return ""
    if isinstance(rate, int):
        return f" ({cutoff_hz(value, rate):.0f} Hz)"
    return f" ({NATIVE_HZ})" if rate == "native" else ""


def common_rate(sweeps: Sequence[Sweep]) -> int | str | None:
    """The corruption rate every sweep shares (Hz or ``"native"``); ``None`` when they differ or one is unknown."""
    rates = {corrupt_rate(s) for s in sweeps}
    return rates.pop() if len(rates) == 1 else None


def axis_in_hz(axis: SeverityAxis, rate: int | str | None) -> SeverityAxis:
    """``axis`` with each Nyquist-fraction tick followed by its frequency (``0.3`` -> ``0.3 = 2400 Hz``).

    At a native rate the label says that the frequency depends on each file's rate;
    other axes, and an unknown rate, are returned unchanged.
    """
    if axis.param is None or not is_nyquist_fraction(axis.param) or axis.values is None:
        return axis
    if rate == "native":
        return replace(axis, label=f"{axis.label} ({NATIVE_HZ})", title_suffix=f"{axis.title_suffix} ({NATIVE_HZ})")
    if not isinstance(rate, int):
        return axis
    ticks = {sev: f"{tick}\n{cutoff_hz(axis.values[sev], rate):.0f} Hz" if is_number(axis.values.get(sev)) else tick
             for sev, tick in axis.ticks.items()}
    hz = [cutoff_hz(v, rate) for _, v in sorted(axis.values.items()) if is_number(v)]
    span = f"{hz[0]:.0f} → {hz[-1]:.0f} Hz at {rate} Hz" if len(hz) > 1 else (f"{hz[0]:.0f} Hz at {rate} Hz" if hz else "")
    return replace(axis, label=f"{axis.label}, Hz at {rate} Hz", ticks=ticks,
                   title_suffix=f"{axis.title_suffix} ({span})" if span else axis.title_suffix)


def cell_params(cell: Mapping[str, Any], rate: int | str | None = None) -> str:
    """``k=v, ...`` of a cell's params; a cutoff given as a fraction of Nyquist is followed by its Hz at ``rate``
    (a cascade's stages as ``stage.k=v``).

    >>> cell_params({"params": {"cutoff_fraction": 0.25}}, 16000)
    'cutoff_fraction=0.25 (2000 Hz)'
    """
    params = cell.get("params") or {}
    if not isinstance(params, Mapping):
        return str(params)
    if any(isinstance(v, Mapping) for v in params.values()):
        params = flat_params(params)
    return ", ".join(f"{k}={v}{hz_suffix(str(k), v, rate)}" for k, v in params.items())
