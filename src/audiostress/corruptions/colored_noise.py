"""Pink, brown or blue noise at a target SNR (white noise shaped in the FFT domain)."""

from __future__ import annotations

import torch
from torch import Tensor

from ._mixing import LI2025_SNR_LEVELS, SNR_DB_PARAM, mix_at_snr, per_item_noise
from .base import Corruption
from .params import Param, SeverityTable
from .registry import register

#: Power-spectrum exponent per colour: PSD ~ f ** exponent (-3, -6, +3 dB/octave).
COLOR_EXPONENTS = {"pink": -1.0, "brown": -2.0, "blue": 1.0}
#: Below this frequency the shaping is held flat, so brown and pink noise do not put
#: most of their power into sub-audible rumble (and DC is always removed).
FLAT_BELOW_HZ = 20.0


@register
class ColoredNoise(Corruption):
    """Add coloured Gaussian noise so the clip's SNR over its valid samples is ``snr_db``.

    Per item, white noise over the valid length is drawn from the item's
    generator, its spectrum is multiplied by ``f ** (exponent / 2)`` (pink: power
    ~ 1/f, -3 dB/octave; brown: 1/f^2, -6 dB/octave; blue: f, +3 dB/octave),
    flat below ``FLAT_BELOW_HZ``, DC removed, and the result is mixed at
    ``snr_db`` with ``mix_at_snr``.
    """

    name = "colored_noise"
    family = "noise"
    description = "Pink (-3 dB/oct), brown (-6 dB/oct) or blue (+3 dB/oct) Gaussian noise at snr_db."
    stochastic = True
    params = (
        SNR_DB_PARAM,
        Param("color", "pink", str, choices=tuple(COLOR_EXPONENTS), help="noise colour"),
    )
    # No published coloured-noise anchor: the gaussian_noise SNR levels of Li, Chen & Wei 2025
    # / AudioMarkBench are reused so the two noise families line up severity by severity.
    levels = SeverityTable(
        "li2025_snr",
        "SNR levels of Li, Chen & Wei 2025 / AudioMarkBench gaussian_noise, applied to pink noise",
        LI2025_SNR_LEVELS,
    )

    def transform(self, audio, sample_rate, params, generators, lengths):  # type: ignore[override]
        b, c, t = audio.shape
        white = per_item_noise(generators, c, lengths, t, audio.device)
        noise = torch.zeros_like(white)
        for i in range(b):
            n = int(lengths[i])
            if n:
                noise[i, :, :n] = shape_spectrum(white[i, :, :n], sample_rate, COLOR_EXPONENTS[params["color"][i]])
        return mix_at_snr(audio, noise, params["snr_db"], lengths)


def shape_spectrum(white: Tensor, sample_rate: int, exponent: float) -> Tensor:
    """Give ``white`` (``[..., n]``) a power spectrum ``~ f ** exponent`` (flat below ``FLAT_BELOW_HZ``, no DC)."""
    n = white.shape[-1]
    freqs = torch.fft.rfftfreq(n, d=1.0 / sample_rate, device=white.device, dtype=torch.float64)
    scale = freqs.clamp_min(FLAT_BELOW_HZ).pow(exponent / 2.0)
    scale = scale / scale.max()
    scale[0] = 0.0
    spec = torch.fft.rfft(white.to(torch.float64), n=n) * scale
    return torch.fft.irfft(spec, n=n).to(white.dtype)
