"""Audio I/O: every supported format loads to [C, T] float32; errors name the file and the reason."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
import torch

from audiostress.audio import AudioError, load, resample, save, to_mono
from audiostress.synth import speech_like, tone

SR = 16000
#: Lossy decoders (mp3/aac) do not reproduce samples; a 440 Hz tone must still dominate.
LOSSY_TONE_CORR = 0.9


def _encode_pyav(path: Path, audio: np.ndarray, sr: int, codec: str, container_format: str | None = None) -> None:
    """Write a mono float array with PyAV (used to make mp3/m4a fixtures)."""
    with av.open(str(path), "w", format=container_format) as out:
        stream = out.add_stream(codec, rate=sr)
        stream.layout = "mono"
        frame_size = stream.codec_context.frame_size or 1024
        pcm = (audio * 32767).astype(np.int16) if codec == "libmp3lame" else audio.astype(np.float32)
        fmt = "s16p" if codec == "libmp3lame" else "fltp"
        for start in range(0, len(pcm), frame_size):
            chunk = pcm[start : start + frame_size]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format=fmt, layout="mono")
            frame.sample_rate = sr
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.mark.parametrize("ext,subtype", [(".wav", "PCM_16"), (".flac", "PCM_16"), (".ogg", "VORBIS"), (".wav", "FLOAT")])
def test_soundfile_formats_round_trip(tmp_path, ext, subtype):
    x = speech_like(0.5, SR, seed=1)
    stereo = torch.cat([x, -x], dim=0)
    path = tmp_path / f"clip{ext}"
    sf.write(str(path), stereo.numpy().T, SR, subtype=subtype)
    y, sr = load(path)
    assert sr == SR and y.dtype == torch.float32 and y.shape[0] == 2
    assert abs(y.shape[1] - stereo.shape[1]) <= (0 if ext != ".ogg" else 2048)
    if subtype in ("PCM_16", "FLOAT"):
        # PCM_16 quantisation error is at most half a step (1/32768).
        assert torch.max(torch.abs(y - stereo)) <= 1.0 / 32768 + 1e-7


@pytest.mark.parametrize("ext,codec,fmt", [(".mp3", "libmp3lame", "mp3"), (".m4a", "aac", "ipod")])
def test_pyav_formats_load(tmp_path, ext, codec, fmt):
    x = tone(440.0, 1.0, SR).numpy()[0]
    path = tmp_path / f"clip{ext}"
    _encode_pyav(path, x, SR, codec, fmt)
    y, sr = load(path)
    assert sr == SR and y.shape[0] == 1 and y.dtype == torch.float32
    assert abs(y.shape[1] - x.size) < 4096  # encoder priming/padding
    # The decoded content is the tone: strong normalised correlation at the best lag.
    ref = torch.from_numpy(x)
    seg = y[0, 2048:10048]
    best = max(
        float(torch.dot(seg, ref[2048 + lag : 10048 + lag]) / (seg.norm() * ref[2048 + lag : 10048 + lag].norm()))
        for lag in range(-1200, 1200, 1)
    )
    assert best > LOSSY_TONE_CORR


def test_save_wav_and_flac_round_trip(tmp_path):
    x = speech_like(0.25, SR, seed=2)
    for name in ("a.wav", "a.flac"):
        p = save(tmp_path / name, x, SR)
        y, sr = load(p)
        assert sr == SR and y.shape == x.shape
        assert torch.max(torch.abs(y - x)) <= 1.0 / 32768 + 1e-7


def test_save_clips_integer_formats_and_rejects_other_extensions(tmp_path):
    y, _ = load(save(tmp_path / "loud.wav", torch.full((1, 100), 3.0), SR))
    assert float(y.max()) <= 1.0
    with pytest.raises(AudioError, match=r"out\.mp3: cannot save \.mp3 files"):
        save(tmp_path / "out.mp3", torch.zeros(1, 10), SR)


def test_error_missing(tmp_path):
    with pytest.raises(AudioError, match=r"nope\.wav: file not found"):
        load(tmp_path / "nope.wav")


def test_error_empty(tmp_path):
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty\.wav: file is empty"):
        load(p)


@pytest.mark.parametrize("name", ["notes.wav", "notes.mp3", "notes.txt"])
def test_error_not_audio(tmp_path, name):
    p = tmp_path / name
    p.write_text("this is not audio at all\n" * 20)
    with pytest.raises(AudioError, match=rf"{name}: (not an audio file|decode failed)"):
        load(p)


def test_error_truncated_flac(tmp_path):
    p = save(tmp_path / "full.flac", speech_like(1.0, SR, seed=3), SR)
    data = p.read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[:60])  # header only, stream cut mid-metadata
    with pytest.raises(AudioError, match=r"cut\.flac: "):
        load(cut)


def test_error_nan_samples(tmp_path):
    p = tmp_path / "nan.wav"
    sf.write(str(p), np.full(100, np.nan, dtype=np.float32), SR, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan\.wav: contains NaN or Inf"):
        load(p)
    y, _ = load(p, check_finite=False)
    assert torch.isnan(y).all()


def test_resample_and_mono():
    x = tone(1000.0, 1.0, 48000)
    y = resample(x, 48000, 16000)
    assert y.shape == (1, 16000)
    assert resample(x, 16000, 16000) is x
    assert to_mono(torch.stack([torch.ones(4), torch.zeros(4)])).tolist() == [[0.5] * 4]


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
@pytest.mark.parametrize("channels", [1, 2])
def test_error_truncated_wav_names_promised_and_held_frames(tmp_path, subtype, channels):
    n = 16000
    audio = torch.from_numpy(np.random.default_rng(1).uniform(-0.5, 0.5, (channels, n)).astype(np.float32))
    full = save(tmp_path / "full.wav", audio, SR, subtype=subtype)
    data = full.read_bytes()
    frame_bytes = channels * {"PCM_16": 2, "PCM_24": 3, "FLOAT": 4}[subtype]
    header = len(data) - n * frame_bytes
    keep = 6000
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: header + keep * frame_bytes + 1])  # a partial frame at the end as well
    with pytest.raises(AudioError, match=rf"cut\.wav: file is truncated: the header promises {n} frames, "
                                         rf"the file holds {keep}"):  # fmt: skip
        load(cut)
    y, sr = load(full)  # the intact file still loads whole
    assert y.shape == (channels, n) and sr == SR


def test_wav_with_trailing_chunk_or_open_length_is_not_truncated(tmp_path):
    audio = speech_like(0.25, SR, seed=4)
    p = save(tmp_path / "ok.wav", audio, SR)
    data = p.read_bytes()
    # A LIST chunk after the data (as tagging tools write) is extra bytes, not a promise broken.
    tagged = tmp_path / "tagged.wav"
    tagged.write_bytes(data + b"LIST" + (4).to_bytes(4, "little") + b"INFO")
    assert load(tagged)[0].shape == audio.shape
    # A streaming writer's "unknown length" data size (0xFFFFFFFF) is not checked.
    streamed = bytearray(data)
    at = streamed.index(b"data") + 4
    streamed[at : at + 4] = b"\xff\xff\xff\xff"
    (tmp_path / "streamed.wav").write_bytes(bytes(streamed))
    y, _ = load(tmp_path / "streamed.wav")
    assert y.shape[-1] == audio.shape[-1]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("orig", "new"), [(44100, 16000), (16000, 48000), (48000, 16000), (22050, 16000), (8000, 11025)])
def test_resample_gives_the_bytes_of_torchaudio_functional(orig: int, new: int, dtype: torch.dtype) -> None:
    import torchaudio.functional as taf

    g = torch.Generator().manual_seed(orig + new)
    for shape in [(1, 4410), (2, 9000), (3, 2, 5000)]:
        x = torch.randn(*shape, generator=g).to(dtype)
        expected = taf.resample(x, orig, new)
        for _ in range(2):  # built, then reused
            out = resample(x, orig, new)
            assert out.dtype == dtype and torch.equal(out, expected)


def test_resample_reuses_its_kernel() -> None:
    """44.1 -> 16 kHz on 0.1 s: building the sinc kernel costs most of a call; the kept one is far cheaper."""
    import time

    import torchaudio.functional as taf

    x = torch.randn(1, 4410)

    def fastest(fn) -> float:
        best = float("inf")
        for _ in range(30):
            t = time.perf_counter()
            fn(x, 44100, 16000)
            best = min(best, time.perf_counter() - t)
        return best

    resample(x, 44100, 16000)
    assert fastest(resample) < 0.6 * fastest(taf.resample)


@pytest.mark.parametrize(("orig", "new"), [(16000, 48000), (48000, 16000), (16000, 22050), (22050, 16000), (44100, 8000), (8000, 8000)])
def test_resampled_length_predicts_what_resample_returns(orig, new):
    from audiostress.audio import resample, resampled_length

    for n in (1, 2, 7, 160, 4097, 64000, 96001):
        assert resampled_length(n, orig, new) == resample(torch.zeros(1, n, dtype=torch.float64), orig, new).shape[-1], n
