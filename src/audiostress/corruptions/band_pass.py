"""Butterworth band-pass between two edges (in Hz or as fractions of Nyquist)."""

from __future__ import annotations

from typing import Any

from ._butterworth import ORDER_PARAM, ZERO_PHASE_PARAM, ButterworthFilter, fraction_of_nyquist
from .params import Param, SeverityTable, exactly_one
from .registry import register


@register
class BandPass(ButterworthFilter):
    """Keep ``low_hz``..``high_hz`` (or ``low_fraction``..``high_fraction`` of Nyquist; one pair only).

    ``order`` applies to each edge (the band-pass has twice as many poles). An
    upper edge in Hz at or above Nyquist leaves only the high-pass part, so the
    telephone-band table also runs on 8 kHz audio; a lower edge at or above
    Nyquist is an error. ``zero_phase`` as for ``low_pass``.
    """

    name = "band_pass"
    description = "Butterworth band-pass low_hz..high_hz (or fractions of Nyquist); zero phase by default."
    params = (
        Param("low_hz", None, float, low=1.0, unit="Hz", help="lower edge", optional=True),
        Param("high_hz", None, float, low=1.0, unit="Hz", help="upper edge (>= Nyquist: high-pass only)", optional=True),
        Param("low_fraction", None, float, low=0.001, high=0.999, help="lower edge as a fraction of Nyquist", optional=True),
        Param("high_fraction", None, float, low=0.001, high=0.999, help="upper edge as a fraction of Nyquist", optional=True),
        ORDER_PARAM,
        ZERO_PHASE_PARAM,
    )
    # No published anchor. Channel bandwidths from wideband telephony (about 80-7000 Hz,
    # G.722 / AMR-WB) through the classic narrowband telephone band (300-3400 Hz, ITU-T
    # G.712) to progressively narrower, walkie-talkie-like bands.
    levels = SeverityTable(
        "telephone",
        "audiostress: wideband phone 80-7000 Hz, 200-5000 Hz, narrowband phone 300-3400 Hz "
        "(ITU-T G.712), then narrower 500-2500 and 800-1800 Hz; 5th order per edge",
        (
            {"low_hz": 80.0, "high_hz": 7000.0},
            {"low_hz": 200.0, "high_hz": 5000.0},
            {"low_hz": 300.0, "high_hz": 3400.0},
            {"low_hz": 500.0, "high_hz": 2500.0},
            {"low_hz": 800.0, "high_hz": 1800.0},
        ),
    )

    def check_params(self, values):  # type: ignore[override]
        exactly_one(self.name, values, (("low_hz", "high_hz"), ("low_fraction", "high_fraction")))
        for low, high in (("low_hz", "high_hz"), ("low_fraction", "high_fraction")):
            lo, hi = values[low], values[high]
            if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and not lo < hi:
                raise ValueError(f"Expected `{low}` < `{high}` for {self.name}, got {lo:g} and {hi:g}")

    def edges(self, item: dict[str, Any], sample_rate: int) -> tuple[str, tuple[float, ...]]:
        if item["low_hz"] is None:
            lo, hi = float(item["low_fraction"]), float(item["high_fraction"])
        else:
            lo = fraction_of_nyquist(self.name, "low_hz", item["low_hz"], sample_rate)
            if item["high_hz"] >= sample_rate / 2.0:
                return "highpass", (lo,)
            hi = fraction_of_nyquist(self.name, "high_hz", item["high_hz"], sample_rate)
        if not lo < hi:
            raise ValueError(f"Expected the lower edge below the upper edge for {self.name}, got {lo:g} and {hi:g} of Nyquist")
        return "bandpass", (lo, hi)
