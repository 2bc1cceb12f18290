"""The pieces every codec backend shares: the round-trip spec and result, the backend
protocol, the missing-encoder error and PCM normalisation.

Kept apart from the package ``__init__`` so that the backend modules import this
file, never their package: ``backends/__init__.py`` imports the backends (in
``get_backend``), and they must not import it back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

BACKENDS = ("pyav", "ffmpeg", "pedalboard", "fast_mp3")


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
    """What a backend module provides (``pyav``, ``ffmpeg_cli`` and ``pedalboard`` all do)."""

    name: str

    def roundtrip(self, spec: CodecSpec, pcm: np.ndarray) -> RoundTrip: ...

    def has_encoder(self, encoder: str) -> bool: ...

    def versions(self) -> dict[str, Any]: ...


def serves(load: Callable[[], Any], encoders: tuple[str, ...], encoder: str) -> bool:
    """Whether a backend whose library ``load`` imports (raising ``CodecUnavailableError`` when it cannot) has ``encoder``."""
    try:
        load()
    except CodecUnavailableError:
        return False
    return encoder in encoders


def require_encoder(backend: Backend, codec: str, encoder: str) -> None:
    """Raise ``CodecUnavailableError`` naming the backend, encoder and the fix."""
    if not backend.has_encoder(encoder):
        raise missing_encoder(backend.name, codec, encoder)


def missing_encoder(backend_name: str, codec: str, encoder: str) -> CodecUnavailableError:
    """The error for ``encoder`` missing from backend ``backend_name``: what is missing and the fix."""
    hints = {
        "pyav": "install a PyAV wheel whose FFmpeg includes it, or pass backend=ffmpeg",
        "ffmpeg": "put an ffmpeg built with it on PATH or set AUDIOSTRESS_FFMPEG to its path "
        "(the imageio-ffmpeg wheel bundles one with libvorbis)",
        "pedalboard": "pip install 'pedalboard>=0.9'",
        "fast_mp3": "pip install 'audiostress[augment]' (fast-mp3-augment), or pass backend=pyav",
    }
    return CodecUnavailableError(
        f"{codec}: encoder {encoder!r} is not available in the {backend_name} backend; "
        f"{hints.get(backend_name, 'choose another backend')}"
    )


def to_float_pcm(pcm: np.ndarray) -> np.ndarray:
    """Contiguous float32 ``[C, N]``."""
    arr = np.asarray(pcm, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"Expected PCM shaped [C, N], got {arr.shape}")
    return np.ascontiguousarray(arr)
