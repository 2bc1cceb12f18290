"""Every codec, at every severity, returns exactly T samples aligned with its input (lag 0 +- 1)."""

from __future__ import annotations

import pytest
import torch
from codec_signals import MAX_LAG_SAMPLES, SR, clip, lag_of

from audiostress.corruptions import available, create, get
from audiostress.seeding import make_generator

CODECS = available("codec")
SEVERITIES = [1, 2, 3, 4, 5]


def test_every_codec_of_the_issue_is_registered():
    expected = {"mp3", "aac", "opus", "vorbis", "amr_nb", "mulaw", "alaw", "g722", "gsm"}
    assert expected <= set(CODECS)


def _check(node, x, sample_rate=SR):
    y = node.apply(x, sample_rate, generator=[make_generator(0)] * x.shape[0])
    assert y.shape == x.shape
    assert torch.isfinite(y).all()
    lag = lag_of(x, y)
    assert abs(lag) <= MAX_LAG_SAMPLES, (node.to_dict(), lag)
    return y


@pytest.mark.parametrize("severity", SEVERITIES)
@pytest.mark.parametrize("name", CODECS)
def test_length_and_lag_every_codec_every_severity(name, severity):
    _check(create(name, severity=severity), clip())


# Tables other than the main one exercise other code paths (MPEG-1 rates, raised AAC rates,
# narrowband Opus whose SILK delay is compensated from the packet TOC).
EXTRA_TABLES = [(n, t) for n in CODECS for t in get(n).tables]


@pytest.mark.parametrize("severity", SEVERITIES)
@pytest.mark.parametrize(("name", "table"), EXTRA_TABLES)
def test_length_and_lag_extra_tables(name, table, severity):
    _check(create(name, severity=severity, table=table), clip())


# Non-default backends: the ffmpeg pipe keeps LAME/AAC priming, which is cut by constants.
BACKENDS = [
    (n, b)
    for n in CODECS
    for p in get(n).params
    if p.name == "backend"
    for b in p.choices
    if b != p.default
]


@pytest.mark.parametrize("severity", [1, 5])
@pytest.mark.parametrize(("name", "backend"), BACKENDS)
def test_length_and_lag_other_backends(name, backend, severity):
    _check(create(name, severity=severity, params={"backend": backend}), clip())


@pytest.mark.parametrize("sample_rate", [22050, 44100])
@pytest.mark.parametrize("name", ["mp3", "aac", "opus", "vorbis", "amr_nb"])
def test_other_input_rates_are_resampled_and_aligned(name, sample_rate):
    _check(create(name, severity=3), clip(0.5, sample_rate), sample_rate)


# libopus downmixes stereo to mono at low bitrates, so Opus is checked at 96 kbps.
@pytest.mark.parametrize(("name", "params"), [("mp3", {}), ("aac", {}), ("opus", {"bitrate_kbps": 96}), ("g722", {})])
def test_stereo_channels_stay_aligned_and_distinct(name, params):
    x = torch.cat([clip(seed=1), clip(seed=2)], dim=1)  # [1, 2, T]
    y = _check(create(name, params=params) if params else create(name, severity=2), x)
    assert abs(lag_of(x, y, channel=1)) <= MAX_LAG_SAMPLES
    assert not torch.equal(y[:, 0], y[:, 1])


@pytest.mark.parametrize("name", ["mp3_then_aac", "vorbis_then_aac"])
@pytest.mark.parametrize("severity", [1, 5])
def test_cascades_stay_aligned(name, severity):
    _check(create(name, severity=severity), clip())
