"""Codec backends: how an encode -> decode round trip is actually run.

- ``pyav``: in-process through PyAV's bundled libavcodec/libavformat (the default).
- ``ffmpeg``: an ffmpeg binary run as a subprocess (``ffmpeg_cli.py``, the only
  module that starts processes); used for what PyAV lacks, libvorbis first.
- ``pedalboard``: Spotify pedalboard's GSM full-rate and LAME VBR plugins.

A backend takes a ``CodecSpec`` and float32 PCM ``[C, N]`` at the codec's rate
and returns a ``RoundTrip``: the decoded PCM (container priming already removed
where the container carries it) plus the encoded bytes, which a codec may
inspect (e.g. Opus packet modes) to pick its residual delay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

BACKENDS = ("pyav", "ffmpeg", "pedalboard")


class CodecUnavailableError(RuntimeError):
    """A backend or one of its encoders is missing; the message says how to get it."""


@dataclass(frozen=True)
class CodecSpec:
    """Everything a backend needs to run one round trip.

    ``encoder`` and ``muxer``/``demuxer`` are ffmpeg names (``libmp3lame``,
    ``ipod`` written / ``mov`` read). ``options`` are encoder private options
    such as ``(("cutoff", "4000"),)`` for libopus.
    """

    codec: str
    encoder: str
    muxer: str
    demuxer: str
    sample_rate: int
    channels: int
    bitrate_bps: int | None = None
    options: tuple[tuple[str, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class RoundTrip:
    """Decoded float32 PCM ``[C, M]`` and the encoded bytes it came from."""

    audio: np.ndarray
    encoded: bytes


class Backend(Protocol):
    name: str

    def roundtrip(self, spec: CodecSpec, pcm: np.ndarray) -> RoundTrip: ...

    def has_encoder(self, encoder: str) -> bool: ...

    def versions(self) -> dict[str, Any]: ...


def get_backend(name: str) -> Backend:
    """The backend module object called ``name`` (``pyav``, ``ffmpeg`` or ``pedalboard``)."""
    if name == "pyav":
        from . import pyav as module
    elif name == "ffmpeg":
        from . import ffmpeg_cli as module
    elif name == "pedalboard":
        from . import pedalboard as module
    else:
        raise ValueError(f"Unknown codec backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    return module  # type: ignore[return-value]


def require_encoder(backend: Backend, codec: str, encoder: str) -> None:
    """Raise ``CodecUnavailableError`` naming the backend, encoder and the fix."""
    if backend.has_encoder(encoder):
        return
    hints = {
        "pyav": "install a PyAV wheel whose FFmpeg includes it, or pass backend=ffmpeg",
        "ffmpeg": "put an ffmpeg built with it on PATH or set AUDIOSTRESS_FFMPEG to its path "
        "(the imageio-ffmpeg wheel bundles one with libvorbis)",
        "pedalboard": "pip install 'pedalboard>=0.9'",
    }
    raise CodecUnavailableError(
        f"{codec}: encoder {encoder!r} is not available in the {backend.name} backend; "
        f"{hints.get(backend.name, 'choose another backend')}"
    )


def to_float_pcm(pcm: np.ndarray) -> np.ndarray:
    """Contiguous float32 ``[C, N]``."""
    arr = np.asarray(pcm, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"Expected PCM shaped [C, N], got {arr.shape}")
    return np.ascontiguousarray(arr)
