"""Tempo change without pitch change (phase vocoder), cropped or zero-padded back to T."""

from __future__ import annotations

import math

import torch

from .._batch import valid_mask
from ._stft import time_scale
from .base import Corruption
from .params import Param, SeverityTable
from .registry import register


@register
class TimeStretch(Corruption):
    """Play ``rate`` times faster (``rate > 1``) or slower (``rate < 1``) at the same pitch.

    Output sample ``j`` holds input time ``j * rate``, so the clip start stays
    aligned and an onset at input time ``t`` moves to ``t / rate``. The output keeps
    ``T`` samples: a slowed clip is cropped at ``T``; a sped-up clip ends at
    ``ceil(length / rate)`` and is padded with zeros (silence) after that.
    """

    name = "time_stretch"
    family = "modification"
    description = "Phase-vocoder tempo change by `rate` (pitch kept), cropped or zero-padded back to T."
    strength_metric = "lsd"  # waveform SNR is ~0 dB at every level once content is misaligned
    params = (
        Param("rate", 1.1, float, low=0.25, high=4.0, unit="x", help="speed factor (>1 faster, <1 slower)"),
    )
    # Li, Chen & Wei 2025 rates {0.7, 0.9, 1.1, 1.3, 1.5}, ordered by distance from 1.0
    # (0.1, 0.1, 0.3, 0.3, 0.5). Ties go to the slow-down first: slowing only crops the
    # end, speeding up also leaves a silent tail of (1 - 1/rate) of the clip, and the
    # measured log-spectral distance on speech agrees (0.9 < 1.1 < 0.7 < 1.3 < 1.5).
    levels = SeverityTable(
        "li2025",
        "Li, Chen & Wei 2025 time-stretch rates, ordered by |rate - 1| (slow-down first on ties)",
        ({"rate": 0.9}, {"rate": 1.1}, {"rate": 0.7}, {"rate": 1.3}, {"rate": 1.5}),
    )

    def transform_group(self, audio, sample_rate, generators, lengths, *, rate):  # type: ignore[override]
        t = audio.shape[-1]
        out = time_scale(audio, sample_rate, float(rate), t)
        if rate > 1.0:
            # Past the end of the stretched content there is only silence (zero padding).
            ends = torch.tensor([math.ceil(int(n) / rate) for n in lengths], dtype=torch.long)
            out = out * valid_mask(ends.clamp_max(t), t, out.device)
        return out.to(audio.dtype)
