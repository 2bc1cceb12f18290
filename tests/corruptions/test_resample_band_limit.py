"""resample_band_limit: nothing above target_hz/2 survives; timing and length are kept."""

from __future__ import annotations

import math

import pytest
import torch
from _modification_helpers import assert_padding_independent, gens

from audiostress.corruptions.resample_band_limit import ResampleBandLimit
from audiostress.measure import xcorr_lag
from audiostress.synth import speech_like, tone

SR = 16000
#: Required rejection of a tone above the new Nyquist (the Kaiser design measures > 90 dB).
MIN_REJECTION_DB = 40.0
#: A tone at half the new Nyquist passes within 0.1 dB (the roll-off starts near 0.8 of it).
PASSBAND_TOL_DB = 0.1
#: Both resampling steps are zero-phase: alignment within one sample.
MAX_LAG = 1
EDGE = 2000  # samples skipped at each end: filter start-up


def _band_energy(x: torch.Tensor, sample_rate: int, above_hz: float) -> tuple[float, float]:
    """(energy above ``above_hz``, total energy) of a Hann-windowed mono signal."""
    sig = x.reshape(-1)[EDGE:-EDGE].to(torch.float64)
    spec = torch.fft.rfft(sig * torch.hann_window(sig.numel(), dtype=torch.float64)).abs().pow(2)
    freqs = torch.fft.rfftfreq(sig.numel(), 1 / sample_rate)
    return float(spec[freqs > above_hz].sum()), float(spec.sum())


@pytest.mark.parametrize(
    ("sample_rate", "target_hz", "tone_hz"),
    [(SR, 8000, 4400.0), (SR, 8000, 6000.0), (SR, 4000, 2200.0), (SR, 11025, 7000.0), (44100, 8000, 5000.0)],
)
def test_tone_above_new_nyquist_is_removed(sample_rate, target_hz, tone_hz):
    x = tone(tone_hz, 1.0, sample_rate, amplitude=0.9)
    y = ResampleBandLimit(target_hz=target_hz).apply(x, sample_rate, generator=gens(0))
    _, e_in = _band_energy(x, sample_rate, 0.0)
    above, total = _band_energy(y, sample_rate, target_hz / 2)
    assert 10 * math.log10(e_in / max(above, 1e-300)) >= MIN_REJECTION_DB
    assert 10 * math.log10(e_in / max(total, 1e-300)) >= MIN_REJECTION_DB  # no alias below either


@pytest.mark.parametrize("target_hz", [8000, 3000])
def test_passband_tone_kept(target_hz):
    x = tone(target_hz / 4, 1.0, SR)
    y = ResampleBandLimit(target_hz=target_hz).apply(x, SR, generator=gens(0))
    mid = slice(EDGE, -EDGE)
    assert abs(20 * math.log10(float(y[..., mid].std() / x[..., mid].std()))) <= PASSBAND_TOL_DB
    assert xcorr_lag(x[0, mid], y[0, mid], 20) == 0


@pytest.mark.parametrize("target_hz", [11025, 6000, 3000])
def test_speech_stays_aligned(speech_4s, target_hz):
    y = ResampleBandLimit(target_hz=target_hz).apply(speech_4s, SR, generator=gens(0))
    assert y.shape == speech_4s.shape
    assert abs(xcorr_lag(speech_4s[0], y[0], 50)) <= MAX_LAG


def test_target_at_or_above_rate_is_identity():
    x = speech_like(0.5, SR, seed=1)
    for target in (SR, 2 * SR):
        assert torch.equal(ResampleBandLimit(target_hz=target).apply(x, SR, generator=gens(0)), x)


@pytest.mark.parametrize("n", [1, 7, 16001])
def test_odd_lengths_kept(n):
    x = torch.full((1, 2, n), 0.25)
    y = ResampleBandLimit(target_hz=6000).apply(x, SR, generator=gens(0))
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_padded_item_equals_alone():
    assert_padding_independent(ResampleBandLimit(target_hz=6000), speech_like(0.4, SR, seed=2), SR, SR)


def test_bad_target_names_parameter_and_range():
    with pytest.raises(ValueError, match=r"Expected `target_hz` in 1000\.\.384000 for resample_band_limit, got 10"):
        ResampleBandLimit(target_hz=10)
