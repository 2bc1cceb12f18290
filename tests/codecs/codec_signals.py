"""Shared test helpers for codec tests: clips, lag and length checks."""

from __future__ import annotations

import torch

from audiostress.measure import xcorr_lag
from audiostress.synth import speech_like

SR = 16000
#: Alignment contract (DESIGN.md): cross-correlation lag 0 +- 1 sample.
MAX_LAG_SAMPLES = 1
#: Search window for the lag: 125 ms at 16 kHz, wider than any codec delay (AAC primes 64 ms at 16 kHz
#: only when uncompensated, which then shows up as a huge lag at the edge or beyond).
LAG_SEARCH = 2000


def clip(duration_s: float = 1.0, sample_rate: int = SR, seed: int = 5) -> torch.Tensor:
    """A ``[1, 1, T]`` speech-like batch."""
    return speech_like(duration_s, sample_rate, seed=seed).unsqueeze(0)


def lag_of(x: torch.Tensor, y: torch.Tensor, channel: int = 0) -> int:
    return xcorr_lag(x[0, channel], y[0, channel], LAG_SEARCH)
