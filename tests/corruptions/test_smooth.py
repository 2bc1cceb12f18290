"""smooth: moving-average nulls, pass band, centring and a numpy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from audiostress.corruptions import create
from audiostress.measure import xcorr_lag
from audiostress.synth import speech_like, tone

SR = 16000
#: A 1 s tone exactly at the first null leaves only start/end transients; the middle is ~0.
NULL_STOP_DB = 60.0
#: Box response at 100 Hz for a 16-sample window is sin(pi/10) / (16 sin(pi/160)) = -0.14 dB.
PASS_TOL_DB = 0.3
REFERENCE_ATOL = 1e-6


def _rms_db(x: torch.Tensor) -> float:
    n = x.shape[-1]
    return 10 * math.log10(float(x[..., n // 4 : 3 * n // 4].double().pow(2).mean()) + 1e-30)


def test_tone_at_first_null_is_removed_and_low_tone_passes():
    node = create("smooth", params={"window": 16})  # first null at 16000 / 16 = 1000 Hz
    null = tone(1000.0, 1.0, SR)
    low = tone(100.0, 1.0, SR)
    assert _rms_db(node.apply(null, SR)) - _rms_db(null) <= -NULL_STOP_DB
    assert abs(_rms_db(node.apply(low, SR)) - _rms_db(low)) <= PASS_TOL_DB


def test_off_null_tone_is_not_removed():
    """The same 1 kHz tone through a 15-sample window sits beside the null (1067 Hz): only partly attenuated."""
    x = tone(1000.0, 1.0, SR)
    assert _rms_db(create("smooth", params={"window": 15}).apply(x, SR)) - _rms_db(x) > -NULL_STOP_DB / 2


@pytest.mark.parametrize("window", [1, 6, 7, 22])
def test_matches_numpy_same_convolution(window):
    x = speech_like(0.25, SR, seed=3)
    y = create("smooth", params={"window": window}).apply(x, SR)[0].double().numpy()
    ref = np.convolve(x[0].double().numpy(), np.ones(window) / window, mode="same")
    np.testing.assert_allclose(y, ref, atol=REFERENCE_ATOL, rtol=0)


def test_odd_window_is_centred():
    x = speech_like(1.0, SR, seed=4)
    y = create("smooth", params={"window": 21}).apply(x, SR)
    assert xcorr_lag(x[0], y[0], 100) == 0


def test_padding_beyond_length_is_not_averaged_in():
    x = speech_like(0.25, SR, seed=5)
    n = x.shape[-1]
    padded = torch.cat([x, torch.ones(1, 100)], dim=-1).unsqueeze(0)  # garbage in the padding
    node = create("smooth", params={"window": 22})
    y = node.apply(padded, SR, lengths=torch.tensor([n]))[0]
    torch.testing.assert_close(y[:, :n], node.apply(x, SR), atol=1e-7, rtol=0)
