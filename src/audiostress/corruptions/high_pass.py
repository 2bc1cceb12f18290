"""Butterworth high-pass at ``cutoff_hz`` or ``cutoff_fraction`` of Nyquist."""

from __future__ import annotations

from ._butterworth import SingleCutoffFilter
from .params import SeverityTable
from .registry import register


@register
class HighPass(SingleCutoffFilter):
    """Remove content below the cutoff; give exactly one of ``cutoff_hz`` or ``cutoff_fraction``.

    ``zero_phase`` (default true) filters forward and backward: no delay, the
    magnitude response squared. ``zero_phase=false`` is the causal filter of the
    anchors, with its group delay.
    """

    name = "high_pass"
    description = "Butterworth high-pass at cutoff_hz or cutoff_fraction of Nyquist; zero phase by default."
    btype = "highpass"
    # Li, Chen & Wei 2025 / AudioMarkBench: 5th-order Butterworth, cutoff 0.1..0.5 of Nyquist,
    # in the anchor's order: 0.1 removes the least, so it is severity 1.
    levels = SeverityTable(
        "li2025",
        "Li, Chen & Wei 2025 / AudioMarkBench high-pass cutoffs 0.1-0.5 of Nyquist, 5th order, "
        "in the anchor's order (0.1 mildest -> 0.5 harshest)",
        tuple({"cutoff_fraction": f} for f in (0.1, 0.2, 0.3, 0.4, 0.5)),
    )
