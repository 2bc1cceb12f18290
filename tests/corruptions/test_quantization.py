"""quantization: exactly `levels` output values on the step-2/levels grid; SNR as theory."""

from __future__ import annotations

import math

import pytest
import torch
from _modification_helpers import gens

from audiostress.corruptions import create
from audiostress.corruptions.quantization import Quantization
from audiostress.measure import snr_db

SR = 16000
#: The uniform-error model (SNR = 6.02 b + 1.76 dB for a full-scale sine) holds to a
#: few tenths of a dB once there are 64 or more levels over the sine.
THEORY_TOL_DB = 0.3


def _ramp(n: int = 200_001) -> torch.Tensor:
    return torch.linspace(-1.0, 1.0, n, dtype=torch.float64).to(torch.float32).unsqueeze(0)


def _sine(amplitude: float, seconds: float = 2.0) -> torch.Tensor:
    t = torch.arange(int(seconds * SR), dtype=torch.float64) / SR
    return (amplitude * torch.sin(2 * math.pi * 997.0 * t)).to(torch.float32).unsqueeze(0)


@pytest.mark.parametrize("levels", [3, 4, 5, 16, 64, 256, 1024])
def test_ramp_hits_exactly_levels_values_on_the_grid(levels):
    y = Quantization(levels=levels).apply(_ramp(), SR, generator=gens(0))
    values = torch.unique(y).to(torch.float64)
    assert values.numel() == levels
    step = 2.0 / levels
    codes = values / step
    torch.testing.assert_close(codes, codes.round(), atol=1e-6, rtol=0)
    assert 0.0 in values.tolist()  # zero is a level: silence stays silent


@pytest.mark.parametrize("bits", [6, 8, 10])
def test_full_scale_sine_snr_matches_theory(bits):
    levels = 2**bits
    amplitude = 1.0 - 2.0 / levels  # the largest sine that never saturates the grid
    x = _sine(amplitude)
    y = Quantization(levels=levels).apply(x, SR, generator=gens(0))
    expected = 6.02 * bits + 1.76 + 20 * math.log10(amplitude)
    measured = float(snr_db(x, y)[0])
    assert abs(measured - expected) <= THEORY_TOL_DB, (measured, expected)


def test_error_bounded_by_half_step_and_saturates_outside():
    x = _ramp()
    y = Quantization(levels=16).apply(x, SR, generator=gens(0))
    inside = x < 1.0 - 2.0 / 16
    assert float((y - x)[inside].abs().max()) <= 1 / 16 + 1e-7
    assert float(y.max()) == pytest.approx(1.0 - 2.0 / 16) and float(y.min()) == -1.0


def test_silence_stays_silent():
    x = torch.zeros(1, 1000)
    assert torch.count_nonzero(Quantization(levels=4).apply(x, SR, generator=gens(0))) == 0


def test_tables():
    li = [create("quantization", severity=s).values["levels"] for s in range(1, 6)]
    amb = [create("quantization", severity=s, table="audiomarkbench").values["levels"] for s in range(1, 6)]
    assert li == [1024, 256, 64, 16, 4]
    assert amb == [64, 32, 16, 8, 4]


def test_bad_levels_names_parameter_and_range():
    with pytest.raises(ValueError, match=r"Expected `levels` in 2\.\.65536 for quantization, got 1"):
        Quantization(levels=1)
