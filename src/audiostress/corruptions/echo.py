"""A single echo: ``y = x + gain * x delayed by delay_s``."""

from __future__ import annotations

import torch

from .._batch import valid_mask
from .base import Corruption
from .params import Param, SeverityTable
from .registry import register


@register
class Echo(Corruption):
    """Add one delayed copy of the clip, ``y[n] = x[n] + gain * x[n - round(delay_s * sr)]``.

    The output keeps the input length (the echo of the last ``delay_s`` is cut)
    and is not renormalised, so peaks may grow by up to ``1 + gain``.
    """

    name = "echo"
    family = "filter"
    description = "One echo: y = x + gain * x delayed by delay_s (cropped to the clip, not renormalised)."
    params = (
        Param("delay_s", 0.1, float, low=0.0, high=10.0, unit="s", help="echo delay"),
        Param("gain", 0.5, float, low=0.0, high=1.0, help="echo amplitude relative to the direct sound"),
    )
    # Li, Chen & Wei 2025 / AudioMarkBench: echo gain 0.1..0.9 at a 0.1 s delay (ANCHORS.md).
    levels = SeverityTable(
        "li2025",
        "Li, Chen & Wei 2025 / AudioMarkBench echo gains 0.1-0.9 at 0.1 s delay",
        tuple({"delay_s": 0.1, "gain": g} for g in (0.1, 0.3, 0.5, 0.7, 0.9)),
    )

    def transform_group(self, audio, sample_rate, generators, lengths, *, delay_s, gain):  # type: ignore[override]
        t = audio.shape[-1]
        delay = int(round(delay_s * sample_rate))
        x = audio * valid_mask(lengths, t, audio.device)
        if delay >= t:
            return x.clone()
        delayed = torch.nn.functional.pad(x[..., : t - delay], (delay, 0))
        return (x.to(torch.float64) + gain * delayed.to(torch.float64)).to(audio.dtype)
