"""A small analytic detector for the sweep tests: little energy above 4 kHz means fake.

``build()`` returns a module mapping ``[B, T]`` 16 kHz audio to one score per clip,
``-log10((P_high + floor) / (P_total + floor))`` where ``P`` is mean-square power
(above 4 kHz, and in all) and ``floor`` a -80 dB noise floor, as real front ends
have (log-spectra with a floor): higher = more band-limited = more fake. The
floor matters: a harsh low-pass pushes every clip's high band below it, so the
score no longer tells the classes apart.
"""

from __future__ import annotations

import time

import torch

CUTOFF_HZ = 4000.0
SAMPLE_RATE = 16000
#: The detector's noise floor on mean-square power (-80 dB re full scale).
FLOOR = 1e-8


class HighBandDetector(torch.nn.Module):
    """Scores each row on its own: a batched FFT rounds differently per batch
    composition, and the determinism tests need a batch-invariant model."""

    def __init__(self, delay_ms: float = 0.0) -> None:
        super().__init__()
        self.delay_ms = delay_ms

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if self.delay_ms:  # lets the resume test kill a sweep midway
            time.sleep(self.delay_ms / 1e3)
        return torch.cat([self.score_one(row.unsqueeze(0)) for row in audio])

    def score_one(self, audio: torch.Tensor) -> torch.Tensor:
        x = audio.to(torch.float64)
        n = x.shape[-1]
        power = torch.fft.rfft(x, dim=-1).abs().pow(2) / (n * n)
        freqs = torch.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
        high = power[:, freqs >= CUTOFF_HZ].sum(dim=-1)
        return -torch.log10((high + FLOOR) / (power.sum(dim=-1) + FLOOR))


def build(delay_ms: float = 0.0) -> torch.nn.Module:
    return HighBandDetector(delay_ms)
