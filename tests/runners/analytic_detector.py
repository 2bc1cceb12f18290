"""A small analytic detector for the sweep tests: little energy above 4 kHz means fake.

``build()`` returns a module mapping ``[B, T]`` 16 kHz audio to one score per clip,
``-log10(share of energy above 4 kHz)``: higher = more band-limited = more fake.
"""

from __future__ import annotations

import torch

CUTOFF_HZ = 4000.0
SAMPLE_RATE = 16000
#: Floor on the energy share so silence gives a finite score.
FLOOR = 1e-12


class HighBandDetector(torch.nn.Module):
    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        x = audio.to(torch.float64)
        power = torch.fft.rfft(x, dim=-1).abs().pow(2)
        freqs = torch.fft.rfftfreq(x.shape[-1], 1.0 / SAMPLE_RATE)
        high = power[:, freqs >= CUTOFF_HZ].sum(dim=-1)
        share = high / (power.sum(dim=-1) + FLOOR)
        return -torch.log10(share + FLOOR)


def build() -> torch.nn.Module:
    return HighBandDetector()
