"""echo: exact delayed copy, cross-correlation peak at delay_s * sr with the right gain."""

from __future__ import annotations

import pytest
import torch

from audiostress.corruptions import create
from audiostress.measure import xcorr_lag
from audiostress.synth import speech_like

SR = 16000
#: White noise's sample autocorrelation at non-zero lags is ~1/sqrt(N) (N = 2 s at 16 kHz): 0.02 is > 3 sigma.
GAIN_TOL = 0.02


def _white(seconds: float, seed: int) -> torch.Tensor:
    return 0.1 * torch.randn(1, int(seconds * SR), generator=torch.Generator().manual_seed(seed))


def _xcorr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cross-correlation of 1-D b against a at lags 0..len-1 (positive = b later)."""
    n = a.numel() + b.numel()
    spec = torch.fft.rfft(b.double(), n) * torch.conj(torch.fft.rfft(a.double(), n))
    return torch.fft.irfft(spec, n)[: a.numel()]


@pytest.mark.parametrize("delay_s, gain", [(0.1, 0.6), (0.25, 0.3)])
def test_xcorr_peak_at_delay_with_gain(delay_s, gain):
    x = _white(2.0, 1)
    y = create("echo", params={"delay_s": delay_s, "gain": gain}).apply(x, SR)
    delay = round(delay_s * SR)
    assert xcorr_lag(x[0], (y - x)[0], 2 * delay) == delay
    cc = _xcorr(x[0], y[0])
    lag0 = float(cc[0])
    masked = cc.clone()
    masked[:10] = 0  # exclude the direct-path peak
    assert int(masked.abs().argmax()) == delay
    # The echo of the last `delay` samples is cropped, so only x[:T - delay] is echoed.
    echoed_share = float(x[0, :-delay].double().pow(2).sum() / x[0].double().pow(2).sum())
    assert abs(float(cc[delay]) / lag0 - gain * echoed_share) < GAIN_TOL


def test_exact_formula_and_length_kept():
    x = speech_like(0.5, SR, seed=2)
    y = create("echo", params={"delay_s": 0.1, "gain": 0.7}).apply(x, SR)
    d = 1600
    assert y.shape == x.shape
    torch.testing.assert_close(y[:, :d], x[:, :d])
    torch.testing.assert_close(y[:, d:], x[:, d:] + 0.7 * x[:, :-d], atol=1e-7, rtol=0)


def test_echo_does_not_read_padding():
    x = speech_like(0.25, SR, seed=3)
    n = x.shape[-1]
    padded = torch.cat([x, torch.ones(1, SR)], dim=-1).unsqueeze(0)
    node = create("echo", params={"delay_s": 0.01, "gain": 0.5})
    y = node.apply(padded, SR, lengths=torch.tensor([n]))[0]
    torch.testing.assert_close(y[:, :n], node.apply(x, SR), atol=1e-7, rtol=0)


def test_delay_longer_than_clip_is_identity():
    x = speech_like(0.05, SR, seed=4)
    torch.testing.assert_close(create("echo", params={"delay_s": 1.0, "gain": 0.9}).apply(x, SR), x)


def test_gain_out_of_range_is_named():
    with pytest.raises(ValueError, match=r"`gain` in 0..1 for echo, got 1.5"):
        create("echo", params={"gain": 1.5})
