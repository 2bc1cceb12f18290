"""Level change by a fixed gain in dB."""

from __future__ import annotations

import torch

from .base import Corruption
from .params import Param, SeverityTable
from .registry import register


@register
class Gain(Corruption):
    """Multiply by ``10 ** (gain_db / 20)``; values may exceed [-1, 1] (no clipping here)."""

    name = "gain"
    family = "modification"
    description = "Scale the level by gain_db (no clipping; chain `clipping` for that)."
    params = (Param("gain_db", -6.0, float, low=-60.0, high=40.0, unit="dB", help="level change"),)
    # No published anchor: attenuations from a barely audible -1 dB to a quiet -24 dB
    # recording. Attenuation is used so that the clip never leaves [-1, 1].
    levels = SeverityTable(
        "audiostress",
        "audiostress default: level drops typical of far-field or badly gained recordings",
        ({"gain_db": -1.0}, {"gain_db": -3.0}, {"gain_db": -6.0}, {"gain_db": -12.0}, {"gain_db": -24.0}),
    )

    def transform(self, audio, sample_rate, params, generators, lengths):  # type: ignore[override]
        g = torch.tensor(params["gain_db"], dtype=torch.float64, device=audio.device)
        scale = torch.pow(10.0, g / 20.0).view(-1, 1, 1)
        return (audio.to(torch.float64) * scale).to(audio.dtype)
