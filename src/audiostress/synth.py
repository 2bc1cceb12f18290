"""Deterministic synthetic signals: a speech-like test clip used by tests, benchmarks and the demo.

Randomness comes only from a seeded ``numpy.random.Generator`` created here.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import signal as sps
from torch import Tensor

#: Formant centre frequencies and bandwidths (Hz) of an /a/-like vowel.
_FORMANTS_HZ = ((700.0, 130.0), (1220.0, 70.0), (2600.0, 160.0), (3500.0, 250.0))


def speech_like(duration_s: float = 4.0, sample_rate: int = 16000, seed: int = 0) -> Tensor:
    """A ``[1, T]`` float32 clip with speech-like structure.

    Voiced segments: a glottal pulse train (f0 gliding between about 95 and 190 Hz)
    through four formant resonators. Unvoiced segments: high-passed noise bursts
    (fricative-like). A 4 Hz syllabic envelope alternates them, with short pauses.
    Peak level is 0.5.
    """
    if duration_s <= 0 or sample_rate <= 0:
        raise ValueError(f"Expected positive duration_s and sample_rate, got {duration_s}, {sample_rate}")
    rng = np.random.default_rng(seed)
    n = max(1, int(round(duration_s * sample_rate)))
    t = np.arange(n) / sample_rate
    f0_base = rng.uniform(105.0, 150.0)
    f0 = f0_base * (1.0 + 0.25 * np.sin(2 * np.pi * rng.uniform(0.3, 0.7) * t + rng.uniform(0, 6.28)))
    phase = np.cumsum(f0) / sample_rate
    pulses = np.diff(np.floor(phase), prepend=0.0)
    source = sps.lfilter([1.0], [1.0, -0.95], pulses)  # glottal roll-off
    voiced = np.zeros(n)
    nyq = sample_rate / 2
    for fc, bw in _FORMANTS_HZ:
        if fc >= nyq * 0.95:
            continue
        r = np.exp(-np.pi * bw / sample_rate)
        theta = 2 * np.pi * fc / sample_rate
        voiced += sps.lfilter([1.0 - r], [1.0, -2 * r * np.cos(theta), r * r], source)
    noise = rng.standard_normal(n)
    hp_hz = min(3000.0, 0.6 * nyq)
    b, a = sps.butter(4, hp_hz / nyq, btype="high")
    fricative = sps.lfilter(b, a, noise) * 0.3
    syllable = 0.5 * (1 - np.cos(2 * np.pi * 4.0 * t))  # 4 Hz syllables
    gate = (np.sin(2 * np.pi * 1.3 * t + rng.uniform(0, 6.28)) > -0.8).astype(float)  # short pauses
    smooth = np.ones(int(0.01 * sample_rate) or 1)
    gate = np.convolve(gate, smooth / smooth.size, mode="same")
    unvoiced_share = (np.sin(2 * np.pi * 0.9 * t + rng.uniform(0, 6.28)) > 0.6).astype(float)
    unvoiced_share = np.convolve(unvoiced_share, smooth / smooth.size, mode="same")
    voiced_norm = voiced / (np.abs(voiced).max() + 1e-12)
    x = gate * syllable * ((1 - unvoiced_share) * voiced_norm + unvoiced_share * fricative)
    x += 1e-4 * rng.standard_normal(n)  # recording noise floor
    x = 0.5 * x / (np.abs(x).max() + 1e-12)
    return torch.from_numpy(x.astype(np.float32)).unsqueeze(0)


def tone(freq_hz: float, duration_s: float, sample_rate: int, amplitude: float = 0.5) -> Tensor:
    """A ``[1, T]`` sine tone."""
    t = torch.arange(int(round(duration_s * sample_rate)), dtype=torch.float64) / sample_rate
    return (amplitude * torch.sin(2 * torch.pi * freq_hz * t)).to(torch.float32).unsqueeze(0)
