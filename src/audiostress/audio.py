"""Audio I/O and resampling under the audiostress conventions.

Audio is ``torch.float32`` shaped ``[C, T]`` with values nominally in [-1, 1]
plus an integer sample rate. WAV, FLAC and OGG load through soundfile; MP3,
M4A/AAC and anything else libsndfile cannot read go through PyAV. Saving writes
WAV or FLAC. Every failure raises ``AudioError`` naming the file and the reason.

A WAV file whose header promises more frames than the file holds (a copy or
download that was cut short) is an error, not a shorter clip: libsndfile quietly
shortens such a file, so ``load`` reads the RIFF ``data`` chunk's size itself and
compares it with the bytes present.
"""

from __future__ import annotations

import functools
import math
import os
import struct
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

#: Extensions that go straight to PyAV (libsndfile has no decoder for them).
PYAV_EXTENSIONS = {".mp3", ".m4a", ".mp4", ".aac", ".opus", ".webm", ".wma"}
#: Formats ``save`` writes, with their default subtype.
SAVE_SUBTYPES = {".wav": "PCM_16", ".flac": "PCM_16"}


class AudioError(RuntimeError):
    """A file could not be loaded or saved; the message names the file and why."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def load(path: str | os.PathLike[str], *, check_finite: bool = True) -> tuple[Tensor, int]:
    """Load an audio file as ``([C, T] float32, sample_rate)``.

    Raises ``AudioError`` when the file is missing, empty (no bytes or no
    samples), not audio, fails to decode, or (with ``check_finite``) holds NaN
    or Inf samples.
    """
    p = Path(path)
    if not p.exists():
        raise AudioError(p, "file not found")
    if p.is_dir():
        raise AudioError(p, "is a directory, not an audio file")
    if p.stat().st_size == 0:
        raise AudioError(p, "file is empty (0 bytes)")
    if not os.access(p, os.R_OK):
        raise AudioError(p, "file is not readable (permission denied)")
    if p.suffix.lower() in PYAV_EXTENSIONS:
        data, sr = _load_pyav(p)
    else:
        try:
            data, sr = _load_soundfile(p)
        except _NotSoundfile:
            data, sr = _load_pyav(p)
    if data.shape[1] == 0:
        raise AudioError(p, "contains no audio samples")
    if check_finite and not np.isfinite(data).all():
        raise AudioError(p, "contains NaN or Inf samples")
    return torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32)), int(sr)


class _NotSoundfile(Exception):
    pass


def _load_soundfile(p: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    try:
        with sf.SoundFile(str(p)) as f:
            sr = f.samplerate
            frames = f.frames
            data = f.read(dtype="float32", always_2d=True)
    except sf.LibsndfileError as exc:
        text = str(exc).lower()
        if "format not recognised" in text or "unknown format" in text or "not supported" in text:
            raise _NotSoundfile from exc
        raise AudioError(p, f"decode failed: {exc}") from exc
    except RuntimeError as exc:  # older soundfile raises RuntimeError
        raise _NotSoundfile from exc
    promised = wav_frames(p)
    if promised is not None and promised[0] > promised[1]:
        raise AudioError(p, _truncated(promised[0], promised[1]))
    if data.shape[0] < frames and p.suffix.lower() not in _ESTIMATED_LENGTH:
        raise AudioError(p, _truncated(frames, data.shape[0]))
    return data.T, sr


def _truncated(promised: int, held: int) -> str:
    return (
        f"file is truncated: the header promises {promised} frames, the file holds {held} "
        "(an interrupted copy or download?); copy or export the file again"
    )


#: Formats whose frame count libsndfile estimates (from the last Ogg page): a short read is not proof of a cut.
_ESTIMATED_LENGTH = (".ogg", ".oga", ".opus")
#: RIFF ``data`` sizes that mean "length unknown" (written by streaming encoders); not checked.
_UNKNOWN_DATA_SIZES = (0, 0xFFFFFFFF)


def wav_frames(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """``(frames the header promises, whole frames the file holds)`` of a RIFF/WAVE file.

    ``None`` when the file is not plain RIFF/WAVE (RF64, AIFF, FLAC, ...), or when
    the header leaves the length open (a ``data`` size of 0 or 0xFFFFFFFF).
    """
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = 0
        for _ in range(256):  # a WAV has a handful of chunks before `data`
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            name, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if name == b"fmt ":
                body = fh.read(min(size, 16))
                if len(body) < 14:
                    return None
                block_align = struct.unpack("<H", body[12:14])[0]
                fh.seek(size - len(body) + (size & 1), os.SEEK_CUR)
            elif name == b"data":
                if block_align <= 0 or size in _UNKNOWN_DATA_SIZES:
                    return None
                held_bytes = os.fstat(fh.fileno()).st_size - fh.tell()
                return size // block_align, max(0, min(size, held_bytes)) // block_align
            else:
                fh.seek(size + (size & 1), os.SEEK_CUR)
    return None


def _load_pyav(p: Path) -> tuple[np.ndarray, int]:
    import av

    try:
        container = av.open(str(p))
    except av.error.InvalidDataError as exc:
        raise AudioError(p, "not an audio file (no decoder recognises it)") from exc
    except av.error.FFmpegError as exc:
        raise AudioError(p, f"decode failed: {exc}") from exc
    try:
        streams = container.streams.audio
        if not streams:
            raise AudioError(p, "not an audio file (no audio stream)")
        stream = streams[0]
        resampler = av.AudioResampler(format="fltp")
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError as exc:
            raise AudioError(p, f"decode failed: {exc}") from exc
        sr = stream.codec_context.sample_rate or stream.rate
        channels = stream.codec_context.channels or 1
    finally:
        container.close()
    if not chunks:
        raise AudioError(p, "contains no audio samples")
    data = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    return data.reshape(channels, -1) if data.shape[0] != channels else data, int(sr)


def save(
    path: str | os.PathLike[str], audio: Tensor, sample_rate: int, *, subtype: str | None = None
) -> Path:
    """Write ``[C, T]`` (or ``[T]``) audio to WAV or FLAC; integer formats are clipped to [-1, 1].

    ``subtype`` is a libsndfile subtype such as ``PCM_16`` (default), ``PCM_24``
    or ``FLOAT`` (WAV only).
    """
    import soundfile as sf

    p = Path(path)
    ext = p.suffix.lower()
    if ext not in SAVE_SUBTYPES:
        raise AudioError(p, f"cannot save {ext or 'extension-less'} files; use one of {', '.join(SAVE_SUBTYPES)}")
    if audio.dim() == 1:
        audio = audio.unsqueeze(0)
    if audio.dim() != 2:
        raise AudioError(p, f"expected audio shaped [C, T], got {tuple(audio.shape)}")
    data = audio.detach().to(torch.float32).cpu().numpy().T
    sub = subtype or SAVE_SUBTYPES[ext]
    if not sub.startswith(("FLOAT", "DOUBLE")):
        data = np.clip(data, -1.0, 1.0)
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        sf.write(str(p), data, int(sample_rate), subtype=sub)
    except (sf.LibsndfileError, ValueError, TypeError) as exc:
        raise AudioError(p, f"could not write: {exc}") from exc
    return p


def resample(audio: Tensor, orig_hz: int, new_hz: int) -> Tensor:
    """Resample along the last axis with torchaudio's windowed-sinc resampler (identity if equal).

    The same bytes as ``torchaudio.functional.resample`` with its defaults. On
    CPU the sinc kernel of each (rate pair, dtype) is built once per process and
    kept (``torchaudio.transforms.Resample``, least recently used of
    ``_RESAMPLERS`` pairs dropped): ``functional.resample`` rebuilds it on every
    call, which costs more than resampling a short clip. Other devices build it
    per call, on the device, as ``functional.resample`` does.
    """
    if int(orig_hz) == int(new_hz):
        return audio
    if audio.device.type == "cpu" and audio.dtype in (torch.float32, torch.float64):
        return _resampler(int(orig_hz), int(new_hz), audio.dtype)(audio)
    import torchaudio.functional as taf

    return taf.resample(audio, int(orig_hz), int(new_hz))


def resampled_length(n: int, orig_hz: int, new_hz: int) -> int:
    """The number of samples ``resample`` returns for ``n`` input samples, without resampling.

    torchaudio's rule: ``ceil(new * n / orig)`` over the reduced rates, the
    quotient rounded to float32 first as torchaudio does.

    >>> resampled_length(64000, 16000, 48000), resampled_length(5, 48000, 16000)
    (192000, 2)
    """
    if int(orig_hz) == int(new_hz):
        return int(n)
    g = math.gcd(int(orig_hz), int(new_hz))
    return int(torch.ceil(torch.as_tensor((int(new_hz) // g) * int(n) / (int(orig_hz) // g))))


#: Rate pairs x dtypes whose CPU resampling kernel ``resample`` keeps.
_RESAMPLERS = 32


@functools.lru_cache(maxsize=_RESAMPLERS)
def _resampler(orig_hz: int, new_hz: int, dtype: torch.dtype) -> torch.nn.Module:
    import torchaudio.transforms as tat

    return tat.Resample(orig_hz, new_hz, dtype=dtype)


def to_mono(audio: Tensor) -> Tensor:
    """Average channels: ``[..., C, T]`` -> ``[..., 1, T]``."""
    return audio.mean(dim=-2, keepdim=True)
