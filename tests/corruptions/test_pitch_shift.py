"""pitch_shift: the frequency moves by 2**(semitones/12); length and timing are kept."""

from __future__ import annotations

import math

import pytest
import torch
from _modification_helpers import assert_padding_independent, dominant_frequency_hz, envelope, gens

from audiostress.corruptions import create
from audiostress.corruptions.pitch_shift import PITCH_TOLERANCE_CENTS, PitchShift, pitch_ratio
from audiostress.measure import xcorr_lag
from audiostress.synth import speech_like, tone

SR = 16000
#: Measured pitch within 1 cent of the target: the rational ratio is within 0.2 cent and
#: the peak estimate (8x zero-padded FFT of a 1 s tone) is good to ~0.1 Hz (0.4 cent).
PITCH_TOL_CENTS = 1.0
#: Envelope cross-correlation peak within 1 ms of lag 0 (the shift keeps timing).
ENVELOPE_LAG_TOL = SR // 1000


def _cents(a: float, b: float) -> float:
    return 1200 * math.log2(a / b)


@pytest.mark.parametrize("semitones", [-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])
def test_tone_frequency_moves_by_ratio(semitones):
    x = tone(440.0, 1.0, SR)
    y = PitchShift(semitones=semitones).apply(x, SR, generator=gens(0))
    assert y.shape == x.shape
    mid = slice(SR // 10, -SR // 10)  # steady part, away from the edges
    want = 440.0 * 2 ** (semitones / 12)
    got = dominant_frequency_hz(y[..., mid], SR)
    assert abs(_cents(got, want)) <= PITCH_TOL_CENTS, (got, want)
    level_db = 20 * math.log10(float(y[..., mid].std() / x[..., mid].std()))
    assert abs(level_db) < 0.5, level_db


@pytest.mark.parametrize("semitones", [-2.0, 2.0])
def test_envelope_stays_aligned(semitones):
    x = speech_like(1.5, SR, seed=4)
    y = PitchShift(semitones=semitones).apply(x, SR, generator=gens(0))
    env_x, env_y = envelope(x, SR // 100), envelope(y, SR // 100)
    lag = xcorr_lag(env_x - env_x.mean(), env_y - env_y.mean(), max_lag=SR // 10)
    assert abs(lag) <= ENVELOPE_LAG_TOL, lag


def test_ratio_is_close_fraction():
    for semitones in [-12.0, -2.0, -1.0, -0.5, 0.03, 0.5, 1.0, 2.0, 7.0, 12.0]:
        ratio = pitch_ratio(semitones)
        assert abs(_cents(float(ratio), 2 ** (semitones / 12))) <= PITCH_TOLERANCE_CENTS, (semitones, ratio)
    assert pitch_ratio(12.0) == 2 and pitch_ratio(-12.0) * 2 == 1


def test_zero_semitones_is_identity():
    x = speech_like(0.3, SR, seed=1)
    assert torch.equal(PitchShift(semitones=0.0).apply(x, SR, generator=gens(0)), x)


def test_padded_item_equals_alone():
    assert_padding_independent(PitchShift(semitones=2.0), speech_like(0.4, SR, seed=2), SR, SR)


@pytest.mark.parametrize("n", [1, 3])
def test_tiny_inputs(n):
    x = torch.full((1, 2, n), 0.3)
    y = PitchShift(semitones=-2.0).apply(x, SR, generator=gens(1))
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_table_ordered_by_magnitude():
    values = [create("pitch_shift", severity=s).values["semitones"] for s in range(1, 6)]
    assert values == [-0.5, -1.0, 1.0, -2.0, 2.0]
    assert [abs(v) for v in values] == sorted(abs(v) for v in values)


def test_bad_semitones_names_parameter_and_range():
    with pytest.raises(ValueError, match=r"Expected `semitones` in -12\.\.12 for pitch_shift, got 13"):
        PitchShift(semitones=13)
