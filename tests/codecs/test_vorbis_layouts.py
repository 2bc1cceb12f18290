"""Vorbis codes every layout at every bitrate of its range: libvorbis's managed modes are respected."""

from __future__ import annotations

import pytest
import torch
from codec_signals import MAX_LAG_SAMPLES, clip, lag_of

from audiostress.codecs.vorbis import MANAGED_KBPS, Vorbis
from audiostress.corruptions import create
from audiostress.measure import snr_db
from audiostress.seeding import make_generator


def _stereo(sample_rate: int) -> torch.Tensor:
    return torch.cat([clip(0.5, sample_rate, seed=1), clip(0.5, sample_rate, seed=2)], dim=1)


@pytest.mark.parametrize("name", ["vorbis", "vorbis_then_aac"])
@pytest.mark.parametrize("sample_rate", [22050, 44100, 48000])
def test_level_5_codes_stereo_aligned(name: str, sample_rate: int) -> None:
    x = _stereo(sample_rate)
    y = create(name, severity=5).apply(x, sample_rate, generator=[make_generator(0)])
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert [abs(lag_of(x, y, channel=c)) <= MAX_LAG_SAMPLES for c in (0, 1)] == [True, True]
    assert not torch.equal(y[:, 0], y[:, 1])
    assert 0.0 < float(snr_db(x, y).min()) < 30.0  # coded, not passed through


def test_stereo_snr_falls_with_bitrate_across_the_rate_switch() -> None:
    x = _stereo(44100)
    snrs = [float(snr_db(x, create("vorbis", severity=s).apply(x, 44100, generator=[make_generator(0)])).mean())
            for s in (1, 3, 4, 5)]  # fmt: skip
    assert snrs == sorted(snrs, reverse=True), snrs


@pytest.mark.parametrize("kbps", [32.0, 47.0, 48.0, 160.0, 256.0])
def test_explicit_bitrates_across_the_range_code_mono_and_stereo(kbps: float) -> None:
    node = create("vorbis", params={"bitrate_kbps": kbps})
    for x in (clip(0.5, 16000), _stereo(16000)):
        y = node.apply(x, 16000, generator=[make_generator(0)])
        assert y.shape == x.shape and abs(lag_of(x, y)) <= MAX_LAG_SAMPLES


def test_codec_rate_stays_inside_the_measured_managed_modes() -> None:
    codec = Vorbis()
    for kbps in (32.0, 45.0, 47.5, 48.0, 96.0, 160.0, 256.0):
        for channels in (1, 2):
            rate = codec.codec_rate(16000, channels, {"bitrate_kbps": kbps})
            coded_channels = 2 if channels == 1 and kbps > 240 else channels
            low, high = MANAGED_KBPS[(coded_channels, rate)]
            assert low <= kbps <= high, (kbps, channels, rate)
    assert codec.codec_rate(48000, 2, {"bitrate_kbps": 32.0}) == 22050
    assert codec.codec_rate(48000, 1, {"bitrate_kbps": 32.0}) == 44100
