"""low_pass, high_pass and band_pass: attenuation, phase, references and parameter errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import signal as sps

from audiostress.corruptions import create, get
from audiostress.measure import xcorr_lag
from audiostress.synth import speech_like, tone

SR = 16000
#: Steady-state attenuation is measured on the middle half of a 1 s tone, far from the
#: filter's start-up and the clip end (the longest transients here last < 20 ms).
TONE_S = 1.0
STOP_DB = 40.0
PASS_TOL_DB = 1.0
#: FFT-domain filtering in float32 against a float64 scipy reference: rounding only.
REFERENCE_ATOL = 2e-5
MAX_LAG = 200


def _rms_db(x: torch.Tensor) -> float:
    n = x.shape[-1]
    mid = x[..., n // 4 : 3 * n // 4].double()
    return 10 * math.log10(float(mid.pow(2).mean()) + 1e-30)


def _gain_db(name: str, params: dict, freq_hz: float) -> float:
    x = tone(freq_hz, TONE_S, SR)
    y = create(name, params=params).apply(x, SR)
    return _rms_db(y) - _rms_db(x)


@pytest.mark.parametrize("zero_phase", [True, False])
def test_low_pass_1k_stops_4k_and_passes_200(zero_phase):
    params = {"cutoff_hz": 1000.0, "zero_phase": zero_phase}
    assert _gain_db("low_pass", params, 4000.0) <= -STOP_DB
    assert abs(_gain_db("low_pass", params, 200.0)) <= PASS_TOL_DB


@pytest.mark.parametrize("zero_phase", [True, False])
def test_high_pass_1k_stops_200_and_passes_4k(zero_phase):
    params = {"cutoff_hz": 1000.0, "zero_phase": zero_phase}
    assert _gain_db("high_pass", params, 200.0) <= -STOP_DB
    assert abs(_gain_db("high_pass", params, 4000.0)) <= PASS_TOL_DB


@pytest.mark.parametrize("zero_phase", [True, False])
def test_band_pass_telephone_band(zero_phase):
    params = {"low_hz": 300.0, "high_hz": 3400.0, "zero_phase": zero_phase}
    assert _gain_db("band_pass", params, 80.0) <= -STOP_DB
    assert _gain_db("band_pass", params, 7000.0) <= -STOP_DB
    assert abs(_gain_db("band_pass", params, 1000.0)) <= PASS_TOL_DB


def test_zero_phase_keeps_lag_zero_and_causal_mode_delays():
    x = speech_like(1.0, SR, seed=4)
    for name, params in [
        ("low_pass", {"cutoff_hz": 1000.0}),
        ("high_pass", {"cutoff_hz": 1000.0}),
        ("band_pass", {"low_hz": 300.0, "high_hz": 3400.0}),
    ]:
        zero = create(name, params={**params, "zero_phase": True}).apply(x, SR)
        causal = create(name, params={**params, "zero_phase": False}).apply(x, SR)
        assert xcorr_lag(x[0], zero[0], MAX_LAG) == 0, name
        if name != "high_pass":  # a high-pass's delay is in the removed low band: xcorr peak stays at 0
            # 5th-order Butterworth group delay near the pass band: several samples at 16 kHz.
            assert xcorr_lag(x[0], causal[0], MAX_LAG) >= 2, name


def _sos(name: str, params: dict) -> np.ndarray:
    nyq = SR / 2
    if name == "band_pass":
        return sps.butter(5, [params["low_hz"] / nyq, params["high_hz"] / nyq], btype="bandpass", output="sos")
    btype = "lowpass" if name == "low_pass" else "highpass"
    return sps.butter(5, params["cutoff_hz"] / nyq, btype=btype, output="sos")


@pytest.mark.parametrize("name, params", [
    ("low_pass", {"cutoff_hz": 1000.0}),
    ("high_pass", {"cutoff_hz": 150.0}),
    ("band_pass", {"low_hz": 300.0, "high_hz": 3400.0}),
])
def test_matches_scipy_sosfilt_and_forward_backward(name, params):
    x = speech_like(0.5, SR, seed=6)
    sos = _sos(name, params)
    x64 = x[0].double().numpy()
    causal = create(name, params={**params, "zero_phase": False}).apply(x, SR)[0].double().numpy()
    np.testing.assert_allclose(causal, sps.sosfilt(sos, x64), atol=REFERENCE_ATOL, rtol=0)
    pad = SR  # zero extension long enough for both tails to die out
    ext = np.concatenate([np.zeros(pad), x64, np.zeros(pad)])
    fb = sps.sosfilt(sos, sps.sosfilt(sos, ext)[::-1])[::-1][pad:-pad]
    zero = create(name, params={**params, "zero_phase": True}).apply(x, SR)[0].double().numpy()
    np.testing.assert_allclose(zero, fb, atol=REFERENCE_ATOL, rtol=0)


@pytest.mark.parametrize("name", ["low_pass", "high_pass", "band_pass"])
def test_extra_padding_does_not_change_the_valid_part(name):
    x = speech_like(0.5, SR, seed=7)
    node = create(name, severity=3)
    plain = node.apply(x, SR)
    padded = torch.nn.functional.pad(x, (0, 3 * SR)).unsqueeze(0)
    long = node.apply(padded, SR, lengths=torch.tensor([x.shape[-1]]))[0]
    torch.testing.assert_close(long[:, : x.shape[-1]], plain, atol=1e-6, rtol=0)


def test_cutoff_fraction_is_fraction_of_nyquist():
    x = speech_like(0.5, SR, seed=8)
    by_hz = create("low_pass", params={"cutoff_hz": 2000.0}).apply(x, SR)
    by_fraction = create("low_pass", params={"cutoff_fraction": 0.25}).apply(x, SR)
    torch.testing.assert_close(by_hz, by_fraction, atol=1e-7, rtol=0)


def test_severity_tables_run_mildest_to_harshest():
    low = [get("low_pass").at(s).values["cutoff_fraction"] for s in range(1, 6)]
    high = [get("high_pass").at(s).values["cutoff_fraction"] for s in range(1, 6)]
    assert low == [0.5, 0.4, 0.3, 0.2, 0.1]
    assert high == [0.1, 0.2, 0.3, 0.4, 0.5]
    widths = [get("band_pass").at(s).values for s in range(1, 6)]
    assert all(a["high_hz"] - a["low_hz"] > b["high_hz"] - b["low_hz"] for a, b in zip(widths, widths[1:]))


def test_band_pass_upper_edge_above_nyquist_is_high_pass_only():
    x = speech_like(0.5, 8000, seed=9)
    band = create("band_pass", params={"low_hz": 200.0, "high_hz": 5000.0}).apply(x, 8000)
    high = create("high_pass", params={"cutoff_hz": 200.0}).apply(x, 8000)
    torch.testing.assert_close(band, high, atol=1e-7, rtol=0)


def test_per_item_cutoffs_match_running_alone():
    x = torch.stack([speech_like(0.5, SR, seed=s) for s in (1, 2, 3)])
    node = create("low_pass", params={"cutoff_hz": {"uniform": [300.0, 3000.0]}})
    gens = [torch.Generator().manual_seed(s) for s in (1, 2, 3)]
    batched = node.apply(x, SR, generator=gens)
    for i, s in enumerate((1, 2, 3)):
        alone = node.apply(x[i : i + 1], SR, generator=[torch.Generator().manual_seed(s)])
        torch.testing.assert_close(batched[i : i + 1], alone, atol=1e-6, rtol=0)
    assert not torch.allclose(batched[0], create("low_pass", params={"cutoff_hz": 300.0}).apply(x[0], SR))


@pytest.mark.parametrize("params, match", [
    ({"cutoff_hz": 1000.0, "cutoff_fraction": 0.2}, r"exactly one of `cutoff_hz` or `cutoff_fraction` for low_pass"),
    ({}, r"exactly one of `cutoff_hz` or `cutoff_fraction` for low_pass"),
    ({"cutoff_fraction": 1.5}, r"`cutoff_fraction` in 0.001..0.999 .*for low_pass, got 1.5"),
    ({"cutoff_fraction": 0.2, "order": 0}, r"`order` in 1..10 for low_pass, got 0"),
])
def test_bad_low_pass_params(params, match):
    with pytest.raises(ValueError, match=match):
        create("low_pass", params=params)


def test_cutoff_at_or_above_nyquist_names_the_limit():
    node = create("high_pass", params={"cutoff_hz": 5000.0})
    with pytest.raises(ValueError, match=r"`cutoff_hz` in 0..4000 \(below Nyquist\) for high_pass at 8000 Hz, got 5000"):
        node.apply(speech_like(0.1, 8000), 8000)


@pytest.mark.parametrize("params, match", [
    ({"low_hz": 3000.0, "high_hz": 300.0}, r"`low_hz` < `high_hz` for band_pass, got 3000 and 300"),
    ({"low_hz": 300.0}, r"`high_hz` for band_pass together with `low_hz`"),
    ({"low_hz": 300.0, "high_hz": 3400.0, "low_fraction": 0.1, "high_fraction": 0.2}, r"exactly one of"),
])
def test_bad_band_pass_params(params, match):
    with pytest.raises(ValueError, match=match):
        create("band_pass", params=params)
