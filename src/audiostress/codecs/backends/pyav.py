"""In-process codec round trips through PyAV (the default backend).

The encoder writes a real container into memory (``io.BytesIO``), and the
demuxer reads it back, so container-level priming information is honoured
exactly as a file on disk would be: the MP3 LAME/Xing tag, the MP4 edit list
(``.m4a``) and the Ogg Opus pre-skip make the decoder drop the encoder delay.
Sample-format conversion (float -> s16 for the telephony codecs) and framing
into the encoder's frame size are done by PyAV's own resampler.
"""

from __future__ import annotations

import io
from functools import cache, lru_cache
from typing import Any

import numpy as np

from ._common import CodecSpec, RoundTrip, missing_encoder, to_float_pcm

name = "pyav"


def _layout(channels: int) -> str:
    if channels == 1:
        return "mono"
    if channels == 2:
        return "stereo"
    raise ValueError(f"PyAV backend codes 1 or 2 channels at a time, got {channels}")


@cache
def has_encoder(encoder: str) -> bool:
    """Whether PyAV's FFmpeg build has the encoder ``encoder``."""
    import av

    try:
        av.Codec(encoder, "w")
    except Exception:  # av raises UnknownCodecError / ValueError depending on version
        return False
    return True


def encode(spec: CodecSpec, pcm: np.ndarray) -> bytes:
    """Encode float32 ``[C, N]`` PCM into ``spec.muxer`` container bytes."""
    import av

    data = to_float_pcm(pcm)
    layout = _layout(data.shape[0])
    buf = io.BytesIO()
    with av.open(buf, "w", format=spec.muxer) as out:
        stream = out.add_stream(spec.encoder, rate=spec.sample_rate, layout=layout, options=dict(spec.options))
        if spec.bitrate_bps is not None:
            stream.bit_rate = int(spec.bitrate_bps)
        frame = av.AudioFrame.from_ndarray(data.T.reshape(1, -1), format="flt", layout=layout)
        frame.sample_rate = spec.sample_rate
        frame.pts = 0
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def decode(spec: CodecSpec, encoded: bytes) -> np.ndarray:
    """Decode container bytes to float32 ``[C, M]`` at ``spec.sample_rate``."""
    import av

    layout = _layout(spec.channels)
    chunks: list[np.ndarray] = []
    with av.open(io.BytesIO(encoded), "r", format=spec.demuxer) as container:
        stream = container.streams.audio[0]
        # PyAV's resampler passes every frame through untouched when the first one is already planar
        # float in the layout at the rate (most decoders); that case skips it, with the same bytes.
        resampler: Any = None
        passthrough: bool | None = None
        for frame in container.decode(stream):
            if passthrough is None:
                passthrough = _is_wanted(frame, layout, spec.sample_rate)
                if not passthrough:
                    resampler = av.AudioResampler(format="fltp", layout=layout, rate=spec.sample_rate)
            if passthrough:
                chunks.append(_planes(frame))
            else:
                chunks.extend(f.to_ndarray() for f in resampler.resample(frame))
        if resampler is not None:
            chunks.extend(f.to_ndarray() for f in resampler.resample(None))
    if not chunks:
        return np.zeros((spec.channels, 0), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(chunks, axis=1), dtype=np.float32)


def _planes(frame: Any) -> np.ndarray:
    """A planar float32 frame as ``[C, samples]``: its plane buffers read directly (``to_ndarray``'s values, less overhead)."""
    n = frame.samples
    planes = [np.frombuffer(plane, dtype=np.float32, count=n) for plane in frame.planes]
    return planes[0].reshape(1, n) if len(planes) == 1 else np.stack(planes)


def _is_wanted(frame: Any, layout: str, rate: int) -> bool:
    """Whether a decoded frame is already planar float32 in ``layout`` at ``rate``."""
    return bool(frame.format.name == "fltp" and frame.layout.name == layout and frame.sample_rate == rate)


def roundtrip(spec: CodecSpec, pcm: np.ndarray) -> RoundTrip:
    """Encode then decode in memory; see the module docstring for priming.

    Raises ``CodecUnavailableError`` (naming the encoder and the fix) when PyAV's
    FFmpeg lacks ``spec.encoder``; this is the only encoder check on this path.
    """
    if not has_encoder(spec.encoder):
        raise missing_encoder(name, spec.codec, spec.encoder)
    encoded = encode(spec, pcm)
    return RoundTrip(decode(spec, encoded), encoded)


def versions() -> dict[str, Any]:
    """PyAV and its FFmpeg library versions, plus libmp3lame/libopus where readable."""
    import av

    info: dict[str, Any] = {"pyav": av.__version__}
    ffmpeg_version = getattr(av, "ffmpeg_version_info", None)
    if ffmpeg_version:
        info["ffmpeg"] = str(ffmpeg_version)
    info.update({lib: ".".join(map(str, v)) for lib, v in av.library_versions.items() if lib in ("libavcodec", "libavformat")})
    info.update(_bundled_library_versions())
    return info


@lru_cache(maxsize=1)
def _bundled_library_versions() -> dict[str, str]:
    """Ask the libmp3lame / libopus that PyAV bundles for their version strings (ctypes)."""
    import ctypes
    import glob
    import os

    import av

    found: dict[str, str] = {}
    libs = os.path.join(os.path.dirname(os.path.dirname(av.__file__)), "av.libs")
    probes = {"libmp3lame": "get_lame_version", "libopus": "opus_get_version_string"}
    for lib, symbol in probes.items():
        for path in sorted(glob.glob(os.path.join(libs, f"{lib}*.so*"))):
            try:
                func = getattr(ctypes.CDLL(path), symbol)
            except (OSError, AttributeError):
                continue
            func.restype = ctypes.c_char_p
            value = func()
            if value:
                found[lib] = value.decode("ascii", "replace")
                break
    return found
