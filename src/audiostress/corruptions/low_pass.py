"""Butterworth low-pass at ``cutoff_hz`` or ``cutoff_fraction`` of Nyquist."""

from __future__ import annotations

from ._butterworth import SingleCutoffFilter
from .params import SeverityTable
from .registry import register


@register
class LowPass(SingleCutoffFilter):
    """Remove content above the cutoff; give exactly one of ``cutoff_hz`` or ``cutoff_fraction``.

    ``zero_phase`` (default true) filters forward and backward: no delay, the
    magnitude response squared. ``zero_phase=false`` is the causal filter of the
    anchors, with its group delay.
    """

    name = "low_pass"
    description = "Butterworth low-pass at cutoff_hz or cutoff_fraction of Nyquist; zero phase by default."
    btype = "lowpass"
    # Li, Chen & Wei 2025 / AudioMarkBench: 5th-order Butterworth, cutoff 0.1..0.5 of Nyquist.
    # The anchor list is reversed so that severity 1 is the mildest (0.5 keeps the most).
    levels = SeverityTable(
        "li2025",
        "Li, Chen & Wei 2025 / AudioMarkBench low-pass cutoffs 0.1-0.5 of Nyquist, 5th order, "
        "listed in reverse (0.5 mildest -> 0.1 harshest)",
        tuple({"cutoff_fraction": f} for f in (0.5, 0.4, 0.3, 0.2, 0.1)),
    )
