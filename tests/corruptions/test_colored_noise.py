"""colored_noise (and gaussian_noise): SNR accuracy and spectral slope per colour."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import signal as sps

from audiostress.corruptions import create
from audiostress.measure import snr_db
from audiostress.seeding import make_generator
from audiostress.synth import speech_like

SR = 16000
#: mix_at_snr scales exactly; only float32 rounding of the mixed clip remains.
SNR_TOL_DB = 0.1
#: Welch estimate over 4 s (about 125 averaged segments) fitted over 100 Hz..6 kHz
#: scatters by a few hundredths of a dB/octave; 0.3 still separates the colours (3 dB apart).
SLOPE_TOL_DB_PER_OCTAVE = 0.3
EXPECTED_SLOPE = {"pink": -10 * math.log10(2), "brown": -20 * math.log10(2), "blue": 10 * math.log10(2)}


@pytest.fixture(scope="module")
def clip() -> torch.Tensor:
    return speech_like(4.0, SR, seed=0).unsqueeze(0)


def _slope_db_per_octave(noise: np.ndarray) -> float:
    freqs, psd = sps.welch(noise, fs=SR, nperseg=1024)
    band = (freqs >= 100) & (freqs <= 6000)
    slope, _ = np.polyfit(np.log2(freqs[band]), 10 * np.log10(psd[band]), 1)
    return float(slope)


@pytest.mark.parametrize("name, params", [
    ("colored_noise", {"color": "pink"}),
    ("colored_noise", {"color": "brown"}),
    ("colored_noise", {"color": "blue"}),
    ("gaussian_noise", {}),
])
@pytest.mark.parametrize("target_db", [0.0, 10.0, 25.0])
def test_hits_requested_snr(clip, name, params, target_db):
    y = create(name, params={**params, "snr_db": target_db}).apply(clip, SR, generator=[make_generator(3)])
    assert abs(float(snr_db(clip, y)[0]) - target_db) < SNR_TOL_DB


@pytest.mark.parametrize("color", ["pink", "brown", "blue"])
def test_spectral_slope_matches_colour(clip, color):
    y = create("colored_noise", params={"color": color, "snr_db": 0.0}).apply(clip, SR, generator=[make_generator(5)])
    noise = (y - clip)[0, 0].double().numpy()
    assert abs(_slope_db_per_octave(noise) - EXPECTED_SLOPE[color]) < SLOPE_TOL_DB_PER_OCTAVE


def test_white_noise_slope_is_flat_so_the_fit_discriminates(clip):
    y = create("gaussian_noise", params={"snr_db": 0.0}).apply(clip, SR, generator=[make_generator(5)])
    assert abs(_slope_db_per_octave((y - clip)[0, 0].double().numpy())) < SLOPE_TOL_DB_PER_OCTAVE


def test_noise_is_zero_mean_and_only_in_valid_part():
    x = torch.stack([speech_like(1.0, SR, seed=1), speech_like(1.0, SR, seed=2)])
    lengths = torch.tensor([SR, SR // 2])
    x[1, :, SR // 2 :] = 0
    y = create("colored_noise", params={"color": "brown", "snr_db": 0.0}).apply(
        x, SR, generator=[make_generator(1), make_generator(2)], lengths=lengths
    )
    noise = (y - x)[1, 0, : SR // 2].double()
    # DC is removed by the shaping: the mean is tiny next to the noise RMS.
    assert abs(float(noise.mean())) < 1e-3 * float(noise.pow(2).mean().sqrt())
    assert torch.count_nonzero(y[1, :, SR // 2 :]) == 0


def test_per_item_colours_match_running_alone():
    x = torch.stack([speech_like(1.0, SR, seed=s) for s in (1, 2, 3)])
    node = create("colored_noise", params={"color": {"choice": ["pink", "brown", "blue"]}, "snr_db": 5.0})
    batched = node.apply(x, SR, generator=[make_generator(s) for s in (7, 8, 9)])
    for i, s in enumerate((7, 8, 9)):
        alone = node.apply(x[i : i + 1], SR, generator=[make_generator(s)])
        torch.testing.assert_close(batched[i : i + 1], alone, atol=1e-6, rtol=0)


def test_unknown_colour_names_parameter_and_choices():
    with pytest.raises(ValueError, match=r"`color`.*'pink'.*colored_noise.*'green'"):
        create("colored_noise", params={"color": "green"})
