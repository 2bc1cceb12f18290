"""bit_depth: integer PCM re-quantisation, SNR as theory, optional seeded TPDF dither."""

from __future__ import annotations

import math

import pytest
import torch
from _modification_helpers import assert_padding_independent, gens

from audiostress.corruptions.bit_depth import BitDepth
from audiostress.corruptions.quantization import Quantization
from audiostress.measure import snr_db
from audiostress.synth import speech_like

SR = 16000
#: Full-scale sine SNR = 6.02 b + 1.76 dB holds to a few tenths of a dB from 8 bits up.
THEORY_TOL_DB = 0.3
#: Error power is a mean of ~32k samples of a bounded variable: within 5 % of theory.
NOISE_POWER_REL_TOL = 0.05


def _sine(amplitude: float, seconds: float = 2.0) -> torch.Tensor:
    t = torch.arange(int(seconds * SR), dtype=torch.float64) / SR
    return (amplitude * torch.sin(2 * math.pi * 997.0 * t)).to(torch.float32).unsqueeze(0)


@pytest.mark.parametrize("bits", [8, 12, 16])
def test_full_scale_sine_snr_matches_theory(bits):
    amplitude = 1.0 - 2.0 ** (1 - bits)
    x = _sine(amplitude)
    y = BitDepth(bits=bits).apply(x, SR, generator=gens(0))
    expected = 6.02 * bits + 1.76 + 20 * math.log10(amplitude)
    assert abs(float(snr_db(x, y)[0]) - expected) <= THEORY_TOL_DB


@pytest.mark.parametrize("bits", [4, 6, 8])
def test_ramp_hits_two_to_the_bits_values(bits):
    x = torch.linspace(-1.0, 1.0, 100_001).unsqueeze(0)
    y = BitDepth(bits=bits).apply(x, SR, generator=gens(0))
    assert torch.unique(y).numel() == 2**bits
    codes = y.to(torch.float64) * 2 ** (bits - 1)
    assert torch.equal(codes, codes.round())


def test_equals_quantization_with_power_of_two_levels():
    x = speech_like(0.5, SR, seed=1)
    a = BitDepth(bits=6).apply(x, SR, generator=gens(0))
    b = Quantization(levels=64).apply(x, SR, generator=gens(0))
    assert torch.equal(a, b)


def test_dither_noise_power_and_low_level_signal():
    bits = 8
    step = 2.0 ** (1 - bits)
    x = _sine(0.4 * step)  # below half a step: rounds to pure silence without dither
    plain = BitDepth(bits=bits).apply(x, SR, generator=gens(0))
    assert torch.count_nonzero(plain) == 0
    dithered = BitDepth(bits=bits, dither=True).apply(x, SR, generator=gens(0))
    codes = dithered.to(torch.float64) / step
    assert torch.equal(codes, codes.round())  # still on the PCM grid
    # TPDF dither: total error power = step^2/12 (rounding) + step^2/6 (dither) = step^2/4.
    err = float((dithered.double() - x.double()).pow(2).mean())
    assert abs(err / (step**2 / 4) - 1) <= NOISE_POWER_REL_TOL, err / (step**2 / 4)
    # The signal survives in the mean: projection of the output on the sine ~ the sine's power.
    gain = float((dithered.double() * x.double()).sum() / x.double().pow(2).sum())
    assert abs(gain - 1) <= 0.1, gain


def test_dither_is_seeded_and_flags_stochastic():
    x = speech_like(0.3, SR, seed=2)
    node = BitDepth(bits=6, dither=True)
    assert node.stochastic and not BitDepth(bits=6).stochastic
    a = node.apply(x, SR, generator=gens(1))
    assert torch.equal(a, node.apply(x, SR, generator=gens(1)))
    assert not torch.equal(a, node.apply(x, SR, generator=gens(2)))


def test_dithered_padded_item_equals_alone():
    assert_padding_independent(BitDepth(bits=6, dither=True), speech_like(0.3, SR, seed=3), SR, SR)


def test_bad_bits_names_parameter_and_range():
    with pytest.raises(ValueError, match=r"Expected `bits` in 2\.\.24 for bit_depth, got 1"):
        BitDepth(bits=1)
