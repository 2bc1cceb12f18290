"""Re-quantisation to integer PCM of a given bit depth, optionally with TPDF dither."""

from __future__ import annotations

from typing import Any

from ._pcm import quantize, tpdf_dither
from .base import Corruption
from .params import Param, SeverityTable
from .registry import register


@register
class BitDepth(Corruption):
    """Round to ``bits``-bit integer PCM (``2 ** bits`` levels, step ``2 ** (1 - bits)``).

    With ``dither=True``, triangular (TPDF) dither of +-1 step is added before
    rounding, drawn from each item's generator; this decorrelates the error from
    the signal (noise instead of distortion). Dither is off by default so the
    operation is deterministic, like a plain format conversion.
    """

    name = "bit_depth"
    family = "modification"
    description = "Integer-PCM re-quantisation to `bits` bits, optional TPDF `dither` (off by default)."
    params = (
        Param("bits", 8, int, low=2, high=24, unit="bits", help="PCM word length"),
        Param("dither", False, bool, help="add +-1 LSB triangular dither before rounding"),
    )
    # No published anchor. 16 bits = CD/telephony-grade linear PCM, 12 and 10 bits = early
    # samplers and cheap ADCs, 8 bits = legacy 8-bit WAV, 6 bits = clearly audible hiss.
    # Theoretical full-scale sine SNR 6.02 * bits + 1.76 dB: 98, 74, 62, 50, 38 dB.
    levels = SeverityTable(
        "audiostress",
        "audiostress default: common PCM word lengths, 16 -> 6 bits (no dither)",
        ({"bits": 16}, {"bits": 12}, {"bits": 10}, {"bits": 8}, {"bits": 6}),
    )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        # Also random when dither may be on (True; a sampler is already counted by the base).
        self.stochastic = self.stochastic or self._values["dither"] is not False

    def transform_group(self, audio, sample_rate, generators, lengths, *, bits, dither):  # type: ignore[override]
        noise = tpdf_dither(generators, tuple(audio.shape), lengths) if dither else None
        return quantize(audio, 2 ** int(bits), noise)
