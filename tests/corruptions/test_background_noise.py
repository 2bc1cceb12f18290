"""background_noise: SNR, resampling of the noise file (the Li et al. bug), looping, folder errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import signal as sps

from audiostress.audio import load, resample, save
from audiostress.corruptions import create
from audiostress.measure import snr_db
from audiostress.seeding import make_generator
from audiostress.synth import speech_like

SR = 16000
NOISE_SR = 8000
SNR_TOL_DB = 0.1
#: Welch bins are 16000 / 2048 = 7.8 Hz wide: the tone peak is found within one bin.
PEAK_TOL_HZ = 8.0
#: Log-PSD correlation between the added noise and a candidate source spectrum over 50 Hz..3 kHz,
#: where the file has content (above it both are at the float32 / resampler floor, which differ).
MATCH_MIN_CORR = 0.95


@pytest.fixture()
def noise_dir(tmp_path):
    """One 8 kHz file: a 1 kHz tone over noise low-passed at 2 kHz, 1.5 s long."""
    rng = np.random.default_rng(0)
    t = np.arange(int(1.5 * NOISE_SR)) / NOISE_SR
    b, a = sps.butter(6, 2000 / (NOISE_SR / 2))
    noise = 0.3 * np.sin(2 * np.pi * 1000.0 * t) + sps.lfilter(b, a, 0.2 * rng.standard_normal(t.size))
    save(tmp_path / "hum_8k.wav", torch.from_numpy(noise.astype(np.float32)).unsqueeze(0), NOISE_SR, subtype="FLOAT")
    return tmp_path


def _log_psd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    freqs, psd = sps.welch(x, fs=SR, nperseg=2048)
    return freqs, 10 * np.log10(psd + 1e-20)


def _added(noise_dir, seconds=3.0, snr=10.0, seed=1):
    x = speech_like(seconds, SR, seed=0).unsqueeze(0)
    node = create("background_noise", params={"noise_dir": str(noise_dir), "snr_db": snr})
    return x, node.apply(x, SR, generator=[make_generator(seed)])


@pytest.mark.parametrize("target_db", [5.0, 20.0, 40.0])
def test_hits_requested_snr(noise_dir, target_db):
    x, y = _added(noise_dir, snr=target_db)
    assert abs(float(snr_db(x, y)[0]) - target_db) < SNR_TOL_DB


def test_noise_is_resampled_not_played_at_the_wrong_rate(noise_dir):
    x, y = _added(noise_dir)
    added = (y - x)[0, 0].double().numpy()
    freqs, got = _log_psd(added)
    # The 1 kHz tone stays at 1 kHz; mixed at the wrong rate it would sit at 2 kHz.
    assert abs(freqs[np.argmax(got)] - 1000.0) <= PEAK_TOL_HZ
    source, sr = load(noise_dir / "hum_8k.wav")
    right = _log_psd(resample(source, sr, SR)[0].double().numpy())[1]
    wrong = _log_psd(source[0].double().numpy())[1]  # the 8 kHz samples taken as 16 kHz
    band = (freqs >= 50) & (freqs <= 3000)
    corr_right = np.corrcoef(got[band], right[band])[0, 1]
    corr_wrong = np.corrcoef(got[band], wrong[band])[0, 1]
    assert corr_right >= MATCH_MIN_CORR > corr_wrong, (corr_right, corr_wrong)


def test_short_noise_is_looped(noise_dir):
    """The 1.5 s file (24000 samples at 16 kHz) repeats inside a 3 s clip."""
    x, y = _added(noise_dir)
    added = (y - x)[0, 0]
    period = int(1.5 * SR)
    torch.testing.assert_close(added[: x.shape[-1] - period], added[period:], atol=1e-6, rtol=0)


def test_file_and_offset_come_from_the_items_generator(noise_dir):
    _, a = _added(noise_dir, seed=1)
    _, b = _added(noise_dir, seed=1)
    _, c = _added(noise_dir, seed=2)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_folder_is_listed_once_per_batch(noise_dir, monkeypatch):
    from audiostress.corruptions import _folder_audio

    calls = []
    real = _folder_audio.list_audio
    monkeypatch.setattr(_folder_audio, "list_audio", lambda *a: calls.append(a) or real(*a))
    x = torch.stack([speech_like(0.2, SR, seed=s) for s in range(4)])
    create("background_noise", params={"snr_db": 10.0, "noise_dir": str(noise_dir)}).apply(
        x, SR, generator=[make_generator(s) for s in range(4)]
    )
    assert len(calls) == 1


def test_no_folder_says_how_to_give_one(monkeypatch):
    monkeypatch.delenv("AUDIOSTRESS_NOISE_DIR", raising=False)
    with pytest.raises(ValueError, match=r"--param noise_dir=.*AUDIOSTRESS_NOISE_DIR"):
        create("background_noise", severity=3)


def test_env_folder_is_recorded_in_to_dict(noise_dir, monkeypatch):
    monkeypatch.setenv("AUDIOSTRESS_NOISE_DIR", str(noise_dir))
    assert create("background_noise", severity=2).to_dict()["params"]["noise_dir"] == str(noise_dir)


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_bad_folder_is_named(tmp_path, make):
    folder = tmp_path / "nothing_here"
    if make == "empty":
        folder.mkdir()
    node = create("background_noise", params={"noise_dir": str(folder)})
    with pytest.raises(ValueError, match=r"noise_dir.*background_noise"):
        node.apply(speech_like(0.1, SR), SR)
