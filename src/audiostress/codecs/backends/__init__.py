"""Codec backends: how an encode -> decode round trip is actually run.

- ``pyav``: in-process through PyAV's bundled libavcodec/libavformat (the default).
- ``ffmpeg``: an ffmpeg binary run as a subprocess (``ffmpeg_cli.py``, the only
  module that starts processes); used for what PyAV lacks, libvorbis first.
- ``pedalboard``: Spotify pedalboard's GSM full-rate and LAME VBR plugins.
- ``fast_mp3``: fast-mp3-augment's one-call LAME CBR + minimp3 round trip
  (optional; audiomentations' default MP3 path, for training throughput).

A backend takes a ``CodecSpec`` and float32 PCM ``[C, N]`` at the codec's rate
and returns a ``RoundTrip``: the decoded PCM (container priming already removed
where the container carries it) plus the encoded bytes, which a codec may
inspect (e.g. Opus packet modes) to pick its residual delay.

The shared types live in ``_common.py`` (the backends import that, never this
package, so there is no import cycle); every name stays importable from here.
"""

from __future__ import annotations

from types import ModuleType
from typing import cast

from ._common import (
    BACKENDS,
    Backend,
    CodecSpec,
    CodecUnavailableError,
    RoundTrip,
    missing_encoder,
    require_encoder,
    to_float_pcm,
)

__all__ = [
    "BACKENDS",
    "Backend",
    "CodecSpec",
    "CodecUnavailableError",
    "RoundTrip",
    "get_backend",
    "missing_encoder",
    "require_encoder",
    "to_float_pcm",
]


def get_backend(name: str) -> Backend:
    """The backend module object called ``name`` (``pyav``, ``ffmpeg``, ``pedalboard`` or ``fast_mp3``)."""
    module: ModuleType
    if name == "pyav":
        from . import pyav as module
    elif name == "ffmpeg":
        from . import ffmpeg_cli as module
    elif name == "pedalboard":
        from . import pedalboard as module
    elif name == "fast_mp3":
        from . import fast_mp3 as module
    else:
        raise ValueError(f"Unknown codec backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    return cast(Backend, module)
