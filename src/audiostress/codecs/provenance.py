"""Codec provenance: which libraries and binaries coded the audio (for metrics.json)."""

from __future__ import annotations

from typing import Any

from .backends import BACKENDS, get_backend


def codec_versions() -> dict[str, Any]:
    """Versions of every codec backend, keyed by backend name.

    ``pyav``: PyAV, its FFmpeg, libavcodec/libavformat and (read with ctypes from
    the bundled libraries) libmp3lame and libopus; ``ffmpeg``: the binary's path
    and version; ``pedalboard`` and ``fast_mp3``: their versions. A backend that cannot be loaded
    reports ``error`` instead of failing.

    >>> sorted(codec_versions())
    ['fast_mp3', 'ffmpeg', 'pedalboard', 'pyav']
    """
    out: dict[str, Any] = {}
    for name in BACKENDS:
        try:
            out[name] = get_backend(name).versions()
        except Exception as exc:  # provenance must never stop a sweep
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return out
