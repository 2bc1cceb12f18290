"""Backends: PyAV in-process, ffmpeg through pipes (one module, argument lists), pedalboard, fast_mp3."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch
from codec_signals import SR, clip

from audiostress.codecs.backends import CodecSpec, ffmpeg_cli, get_backend, pyav
from audiostress.corruptions import create
from audiostress.measure import snr_db
from audiostress.seeding import make_generator

#: PyAV bundles FFmpeg 8.1 and the imageio binary is FFmpeg 9.0, whose LAME feeding and native
#: AAC encoder differ slightly, so the outputs are not bit-identical; the quality they reach
#: (SNR against the input) must agree within this margin (measured: mp3 0.01 dB, aac 0.5 dB).
CROSS_BACKEND_SNR_DIFF_DB = 1.0


@pytest.mark.parametrize(("name", "params"), [("mp3", {"bitrate_kbps": 32}), ("aac", {"bitrate_kbps": 32})])
def test_pyav_and_ffmpeg_backends_reach_the_same_quality(name, params):
    x = clip()
    a = create(name, params={**params, "backend": "pyav"}).apply(x, SR, generator=make_generator(0))
    b = create(name, params={**params, "backend": "ffmpeg"}).apply(x, SR, generator=make_generator(0))
    assert abs(float(snr_db(x, a)[0]) - float(snr_db(x, b)[0])) < CROSS_BACKEND_SNR_DIFF_DB


@pytest.mark.parametrize("name", ["amr_nb", "g722", "mulaw"])
def test_pyav_and_ffmpeg_backends_are_bit_identical_for_reference_codecs(name):
    # Fixed-point reference codecs: same code in both builds, and the delay constants match.
    x = clip()
    a = create(name, params={"backend": "pyav"}).apply(x, SR, generator=make_generator(0))
    b = create(name, params={"backend": "ffmpeg"}).apply(x, SR, generator=make_generator(0))
    assert torch.equal(a, b)


def test_ffmpeg_runs_argument_lists_over_pipes_without_files(monkeypatch):
    calls = []
    real_run = subprocess.run

    def spy(args, **kwargs):
        calls.append((args, kwargs))
        return real_run(args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    spec = CodecSpec("aac", "aac", "ipod", "mov", SR, 1, 32000)
    out = ffmpeg_cli.roundtrip(spec, clip().numpy()[0])
    assert out.audio.shape[0] == 1 and out.audio.shape[1] >= SR
    assert len(calls) == 2  # one encode process, one decode process
    for args, kwargs in calls:
        assert isinstance(args, list) and all(isinstance(a, str) for a in args)
        assert kwargs.get("shell") in (None, False)
        assert args[args.index("-i") + 1] == "pipe:0" and "pipe:1" in args
        assert kwargs["capture_output"] and isinstance(kwargs["input"], bytes)


def test_ffmpeg_failure_surfaces_return_code_and_stderr():
    spec = CodecSpec("opus", "libopus", "ogg", "ogg", 48000, 1, 1)  # 1 bit/s: libopus refuses
    with pytest.raises(ffmpeg_cli.FfmpegError, match=r"exit \d+\) while trying to encode opus with libopus: .*bit ?rate"):
        ffmpeg_cli.roundtrip(spec, np.zeros((1, 4800), dtype=np.float32))


def test_ffmpeg_run_refuses_shell_strings():
    with pytest.raises(TypeError, match="list of strings"):
        ffmpeg_cli.run("ffmpeg -version", b"", "test")  # type: ignore[arg-type]


def test_encoder_lists():
    assert ffmpeg_cli.has_encoder("libvorbis") and ffmpeg_cli.has_encoder("libmp3lame")
    assert not ffmpeg_cli.has_encoder("no_such_encoder")
    assert pyav.has_encoder("libopus") and not pyav.has_encoder("libvorbis")


def test_pyav_reads_priming_from_the_container():
    # MP3 in a seekable buffer: the LAME tag makes the demuxer drop 1105 samples of delay,
    # so the decoded length equals the input length exactly.
    x = clip().numpy()[0]
    out = pyav.roundtrip(CodecSpec("mp3", "libmp3lame", "mp3", "mp3", SR, 1, 32000), x)
    assert out.audio.shape == x.shape


def test_pedalboard_mp3_vbr_path_codes_and_keeps_length():
    x = clip()
    y = create("mp3", params={"bitrate_kbps": 64, "backend": "pedalboard"}).apply(x, SR, generator=make_generator(0))
    snr = float(snr_db(x, y)[0])
    # Coded (not identity) yet close to the input: VBR V9 on speech measures about 13 dB.
    assert 5.0 < snr < 40.0
    assert get_backend("pedalboard").has_encoder("gsm_fr")


def test_codecs_are_deterministic_across_calls():
    x = clip()
    node = create("opus", severity=3)
    a = node.apply(x, SR, generator=make_generator(0))
    b = node.apply(x, SR, generator=make_generator(99))
    assert torch.equal(a, b)


# -- fast_mp3: fast-mp3-augment's one-call LAME + minimp3 round trip (the [augment] extra) ------------------
@pytest.mark.parametrize("kbps", [32, 128])
def test_fast_mp3_reaches_the_quality_of_pyav_and_keeps_alignment(kbps):
    pytest.importorskip("fast_mp3_augment")
    x = clip()
    a = create("mp3", params={"bitrate_kbps": kbps, "quality": 7}).apply(x, SR, generator=make_generator(0))
    b = create("mp3", params={"bitrate_kbps": kbps, "quality": 7, "backend": "fast_mp3"}).apply(x, SR, generator=make_generator(0))
    assert b.shape == x.shape and not torch.equal(b, x)
    assert abs(float(snr_db(x, a)[0]) - float(snr_db(x, b)[0])) < CROSS_BACKEND_SNR_DIFF_DB


def test_fast_mp3_follows_bitrate_and_quality():
    pytest.importorskip("fast_mp3_augment")
    x = clip()

    def run(**params):
        return create("mp3", params={"backend": "fast_mp3", **params}).apply(x, SR, generator=make_generator(0))

    low, high = run(bitrate_kbps=16), run(bitrate_kbps=128)
    assert float(snr_db(x, high)[0]) > float(snr_db(x, low)[0]) + 1.0  # more bits, closer to the input
    assert not torch.equal(run(bitrate_kbps=64, quality=0), run(bitrate_kbps=64, quality=9))
    assert torch.equal(run(bitrate_kbps=64, quality=7), run(bitrate_kbps=64, quality=7))  # deterministic


def test_fast_mp3_without_the_package_names_the_extra(monkeypatch):
    import sys

    from audiostress.codecs.backends import CodecUnavailableError

    monkeypatch.setitem(sys.modules, "fast_mp3_augment", None)  # import now raises ImportError
    assert not get_backend("fast_mp3").has_encoder("libmp3lame")
    with pytest.raises(CodecUnavailableError, match=r"audiostress\[augment\]"):
        create("mp3", params={"bitrate_kbps": 64, "backend": "fast_mp3"}).apply(clip(), SR, generator=make_generator(0))


def test_codec_cache_refuses_a_backend_without_a_bitstream():
    from audiostress.augment._tape import Tape, taped

    with pytest.raises(ValueError, match="backend=fast_mp3.*pass backend=pyav"):
        taped(create("mp3", params={"backend": "fast_mp3"}), Tape())
