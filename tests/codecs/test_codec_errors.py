"""Bad input: refused bitrates, missing encoders and backends, clips shorter than a frame."""

from __future__ import annotations

import pytest
import torch
from codec_signals import SR, clip

from audiostress.codecs.backends import CodecUnavailableError, get_backend, require_encoder
from audiostress.codecs.vorbis import Vorbis
from audiostress.corruptions import available, create
from audiostress.seeding import make_generator


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("opus", 0, r"Expected `bitrate_kbps` in 0\.5\.\.256 for opus, got 0"),
        ("mp3", 1000, r"Expected `bitrate_kbps` in 8\.\.320 for mp3, got 1000"),
        ("aac", 4, r"Expected `bitrate_kbps` in 8\.\.512 for aac, got 4"),
        ("vorbis", 8, r"Expected `bitrate_kbps` in 32\.\.256 for vorbis, got 8"),
        ("amr_nb", 9.0, r"Expected `bitrate_kbps` in one of 4\.75, 5\.15, .*12\.2 for amr_nb, got 9\.0"),
    ],
)
def test_refused_bitrate_names_codec_parameter_value_and_range(name, value, message):
    with pytest.raises(ValueError, match=message):
        create(name, params={"bitrate_kbps": value})


def test_unknown_backend_lists_choices():
    with pytest.raises(ValueError, match=r"Expected `backend` in one of 'pyav', 'ffmpeg', 'pedalboard', 'fast_mp3' for mp3, got 'sox'"):
        create("mp3", params={"backend": "sox"})


def test_encoder_missing_from_backend_says_which_and_how_to_get_it():
    # PyAV's FFmpeg has no libvorbis (the reason vorbis runs on the ffmpeg binary).
    with pytest.raises(CodecUnavailableError, match=r"vorbis: encoder 'libvorbis' is not available in the pyav backend; .*backend=ffmpeg"):
        require_encoder(get_backend("pyav"), "vorbis", "libvorbis")


def test_codec_on_a_backend_without_its_encoder_raises_instead_of_skipping(monkeypatch):
    monkeypatch.setattr(Vorbis, "default_backend", "pyav")
    with pytest.raises(CodecUnavailableError, match="libvorbis"):
        create("vorbis", severity=1).apply(clip(0.2), SR, generator=make_generator(0))


def test_direct_backend_call_without_the_encoder_is_a_clear_error():
    import numpy as np

    from audiostress.codecs.backends import CodecSpec

    spec = CodecSpec("vorbis", "libvorbis", "ogg", "ogg", SR, 1, 64000)
    with pytest.raises(CodecUnavailableError, match=r"vorbis: encoder 'libvorbis' is not available in the pyav backend"):
        get_backend("pyav").roundtrip(spec, np.zeros((1, 1600), dtype=np.float32))
    missing = CodecSpec("vorbis", "no_such_encoder", "ogg", "ogg", SR, 1, 64000)
    with pytest.raises(CodecUnavailableError, match=r"encoder 'no_such_encoder' is not available in the ffmpeg backend"):
        get_backend("ffmpeg").roundtrip(missing, np.zeros((1, 1600), dtype=np.float32))


def test_ffmpeg_binary_missing_is_a_clear_error(monkeypatch):
    from audiostress.codecs.backends import ffmpeg_cli

    monkeypatch.setenv(ffmpeg_cli.ENV_VAR, "/nonexistent/ffmpeg")
    ffmpeg_cli.ffmpeg_exe.cache_clear()
    try:
        with pytest.raises(CodecUnavailableError, match=r"AUDIOSTRESS_FFMPEG='/nonexistent/ffmpeg' is not a file"):
            ffmpeg_cli.ffmpeg_exe()
    finally:
        monkeypatch.delenv(ffmpeg_cli.ENV_VAR)
        ffmpeg_cli.ffmpeg_exe.cache_clear()


#: Batch-vs-alone agreement allows float32 rounding noise (as in the registry invariants).
BATCH_ATOL = 1e-5
#: 5 ms at 16 kHz: shorter than one frame of every codec (MP3 1152, AAC 1024, AMR 160 @ 8 kHz).
SHORT_SAMPLES = 80


@pytest.mark.parametrize("name", available("codec"))
def test_clip_shorter_than_a_frame_is_padded_coded_and_cropped(name):
    t = torch.arange(SHORT_SAMPLES, dtype=torch.float64) / SR
    x = (0.5 * torch.sin(2 * torch.pi * 440.0 * t)).to(torch.float32).view(1, 1, -1)
    y = create(name, severity=1).apply(x, SR, generator=[make_generator(0)])
    assert y.shape == x.shape
    assert torch.isfinite(y).all()
    # It was coded, not passed through untouched (the codec changed it).
    assert not torch.equal(x, y)


def test_short_clip_in_padded_batch_keeps_padding_silent():
    x = torch.stack([clip(0.25)[0], torch.zeros(1, 4000)])
    x[1, :, :50] = 0.3
    node = create("mp3", severity=3)
    y = node.apply(x, SR, generator=[make_generator(0), make_generator(1)], lengths=torch.tensor([4000, 50]))
    assert torch.count_nonzero(y[1, :, 50:]) == 0
    # The valid part is what the 50-sample clip gives alone (the padding was not coded with it).
    alone = node.apply(x[1:2, :, :50], SR, generator=[make_generator(1)])
    torch.testing.assert_close(y[1:2, :, :50], alone, atol=BATCH_ATOL, rtol=0)
