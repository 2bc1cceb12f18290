"""time_stretch: length kept, tempo changed, pitch (zero-crossing rate) unchanged."""

from __future__ import annotations

import math

import pytest
import torch
from _modification_helpers import assert_padding_independent, envelope, gens, zero_crossings_per_s

from audiostress.corruptions import create
from audiostress.corruptions.time_stretch import TimeStretch
from audiostress.synth import speech_like, tone

SR = 16000
#: The vocoder smears an onset over one 32 ms analysis frame; the half-height crossing
#: of the envelope lands within a quarter frame of where it should.
ONSET_TOL_S = 0.008
#: Zero-crossing rate of a steady tone after stretching (pitch kept) within 1 %.
ZCR_REL_TOL = 0.01
#: Level of a steady tone kept within 0.5 dB (identity phase locking keeps lobes coherent).
LEVEL_TOL_DB = 0.5


def _bursts(starts_s: tuple[float, ...], total_s: float = 1.5) -> torch.Tensor:
    """Silence with 0.2 s 1 kHz tone bursts starting at ``starts_s``: [1, T]."""
    t = torch.arange(int(total_s * SR)) / SR
    x = torch.zeros_like(t)
    for start in starts_s:
        on = (t >= start) & (t < start + 0.2)
        x[on] = 0.5 * torch.sin(2 * torch.pi * 1000 * t[on])
    return x.unsqueeze(0)


def _onsets_s(x: torch.Tensor) -> list[float]:
    env = envelope(x, SR // 100)
    above = env > 0.5 * env.max()
    idx = torch.nonzero(above[1:] & ~above[:-1]).reshape(-1) + 1
    return [i / SR for i in idx.tolist()]


@pytest.mark.parametrize("rate", [0.7, 0.9, 1.1, 1.3, 1.5])
def test_onsets_move_by_rate_factor(rate):
    x = _bursts((0.3, 0.9))
    y = TimeStretch(rate=rate).apply(x, SR, generator=gens(0))
    assert y.shape == x.shape
    expected = [t / rate for t in _onsets_s(x)]
    measured = _onsets_s(y)
    assert len(measured) == len(expected), (measured, expected)
    for got, want in zip(measured, expected):
        assert abs(got - want) <= ONSET_TOL_S, (rate, measured, expected)


@pytest.mark.parametrize("rate", [0.7, 1.5])
def test_pitch_and_level_unchanged(rate):
    x = tone(440.0, 1.0, SR)
    y = TimeStretch(rate=rate).apply(x, SR, generator=gens(0))
    # Compare the steady middle of the stretched content (away from the edges).
    end = min(x.shape[-1], int(x.shape[-1] / rate))
    mid_y = y[..., SR // 10 : end - SR // 10]
    mid_x = x[..., SR // 10 : -SR // 10]
    zx, zy = zero_crossings_per_s(mid_x, SR), zero_crossings_per_s(mid_y, SR)
    assert abs(zy / zx - 1) <= ZCR_REL_TOL, (zx, zy)
    level_db = 20 * math.log10(float(mid_y.std() / mid_x.std()))
    assert abs(level_db) <= LEVEL_TOL_DB, level_db


def test_speed_up_is_zero_padded_after_the_content():
    x = tone(440.0, 1.0, SR)
    y = TimeStretch(rate=1.5).apply(x, SR, generator=gens(0))
    end = math.ceil(x.shape[-1] / 1.5)
    assert torch.count_nonzero(y[..., end:]) == 0
    assert float(y[..., end - SR // 10 : end].abs().max()) > 0.4  # content right up to the end


def test_slow_down_fills_the_whole_clip():
    x = tone(440.0, 1.0, SR)
    y = TimeStretch(rate=0.7).apply(x, SR, generator=gens(0))
    assert float(y[..., -SR // 20 :].abs().max()) > 0.4


def test_rate_one_is_identity():
    x = speech_like(0.5, SR, seed=3)
    y = TimeStretch(rate=1.0).apply(x, SR, generator=gens(0))
    torch.testing.assert_close(y, x, atol=1e-6, rtol=0)


@pytest.mark.parametrize("rate", [0.7, 1.3])
def test_padded_item_equals_alone(rate):
    assert_padding_independent(TimeStretch(rate=rate), speech_like(0.4, SR, seed=2), SR, SR)


@pytest.mark.parametrize("n", [1, 2, 100])
def test_shorter_than_one_frame(n):
    x = torch.full((2, 1, n), 0.3)
    y = TimeStretch(rate=1.3).apply(x, SR, generator=gens(1, 2))
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_table_ordered_by_distance_from_one():
    rates = [create("time_stretch", severity=s).values["rate"] for s in range(1, 6)]
    assert rates == [0.9, 1.1, 0.7, 1.3, 1.5]
    assert [abs(r - 1) for r in rates] == sorted(abs(r - 1) for r in rates)


def test_bad_rate_names_parameter_and_range():
    with pytest.raises(ValueError, match=r"Expected `rate` in 0\.25\.\.4 for time_stretch, got 0"):
        TimeStretch(rate=0)
