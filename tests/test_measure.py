"""Measured strength: SNR, log-spectral distance and cross-correlation lag against closed forms."""

from __future__ import annotations

import math

import torch

from audiostress.measure import log_spectral_distance, snr_db, xcorr_lag
from audiostress.synth import speech_like, tone


def test_snr_closed_form():
    x = tone(300.0, 1.0, 16000).double()  # float64 so 1.1 * x has no float32 rounding
    # error = 0.1 * x  ->  SNR = 20 dB exactly
    assert abs(float(snr_db(x, 1.1 * x)[0]) - 20.0) < 1e-9
    assert float(snr_db(x, x)[0]) == math.inf
    assert float(snr_db(torch.zeros(1, 10), torch.ones(1, 10))[0]) == -math.inf


def test_snr_ignores_padding():
    x = torch.stack([tone(300.0, 1.0, 16000), tone(300.0, 1.0, 16000)]).double()
    y = 1.1 * x
    y[1, :, 8000:] += 5.0  # garbage in the padding of item 1
    out = snr_db(x, y, lengths=torch.tensor([16000, 8000]))
    assert torch.allclose(out, torch.tensor([20.0, 20.0], dtype=torch.float64), atol=1e-9)


def test_lsd_zero_for_identical_and_grows_with_distortion():
    x = speech_like(1.0, 16000, seed=1)
    assert float(log_spectral_distance(x, x)[0]) == 0.0
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    small = float(log_spectral_distance(x, x + 0.001 * noise)[0])
    large = float(log_spectral_distance(x, x + 0.05 * noise)[0])
    assert 0 < small < large


def test_xcorr_lag_finds_delay():
    x = speech_like(0.5, 16000, seed=2)[0]
    for lag in (-37, 0, 5, 120):
        y = torch.roll(x, lag)
        assert xcorr_lag(x, y, 200) == lag
