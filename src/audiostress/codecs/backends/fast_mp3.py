"""MP3 round trips through fast-mp3-augment: LAME CBR encode and minimp3 decode in one native call.

This is the backend audiomentations' ``Mp3Compression`` uses by default; it is
here for training throughput (``create("mp3", params={"backend": "fast_mp3",
"quality": 7})``). It encodes with LAME at the requested CBR bitrate and
``quality`` like the pyav backend, but decodes with minimp3 and compensates
the encoder and decoder delay itself (``preserve_delay=False``; measured lag 0),
so its output is close to, but not bit-identical with, the libavcodec decoder's.
It returns no bitstream, so ``CodecCache`` cannot store it (use ``backend=pyav``
there). It accepts the MPEG sample rates and the MPEG bitrate table, mono or
stereo; a bitrate outside the table is moved to the nearest legal one, as LAME
itself does.

fast-mp3-augment is an optional dependency: ``pip install 'audiostress[augment]'``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from ._common import CodecSpec, CodecUnavailableError, RoundTrip, serves, to_float_pcm

name = "fast_mp3"

#: The one encoder this backend serves (the ffmpeg name of LAME, for uniform messages).
ENCODERS = ("libmp3lame",)
#: LAME's default algorithm quality, used when the node leaves ``quality`` null.
DEFAULT_QUALITY = 3


def _module() -> Any:
    try:
        import fast_mp3_augment
    except ImportError as exc:
        raise CodecUnavailableError(
            "The fast_mp3 backend needs fast-mp3-augment: pip install 'audiostress[augment]' "
            "(or pip install fast-mp3-augment), or pass backend=pyav"
        ) from exc
    return fast_mp3_augment


def has_encoder(encoder: str) -> bool:
    """Whether ``encoder`` is LAME and fast-mp3-augment imports."""
    return serves(_module, ENCODERS, encoder)


def legal_bitrate(kbps: float, supported: set[int] | frozenset[int]) -> int:
    """The bitrate in ``supported`` nearest to ``kbps`` (the lower one on a tie).

    >>> legal_bitrate(130, {112, 128, 160})
    128
    >>> legal_bitrate(120, {112, 128})
    112
    """
    return min(sorted(supported), key=lambda b: abs(b - kbps))


def roundtrip(spec: CodecSpec, pcm: np.ndarray) -> RoundTrip:
    """Encode ``[C, N]`` float32 at ``spec.bitrate_bps`` CBR and decode it, delay removed."""
    if spec.encoder not in ENCODERS:
        raise CodecUnavailableError(
            f"{spec.codec}: encoder {spec.encoder!r} is not available in the fast_mp3 backend "
            f"(it serves {', '.join(ENCODERS)}); use backend=pyav or backend=ffmpeg"
        )
    module = _module()
    if spec.sample_rate not in module.SUPPORTED_SAMPLE_RATES:
        raise CodecUnavailableError(f"{spec.codec}: fast_mp3 cannot code at {spec.sample_rate} Hz "
                                    f"(it takes {sorted(module.SUPPORTED_SAMPLE_RATES)})")
    kbps = legal_bitrate((spec.bitrate_bps or 128_000) / 1000.0, module.SUPPORTED_BITRATES)
    quality = int(dict(spec.options).get("compression_level", DEFAULT_QUALITY))
    samples = np.ascontiguousarray(to_float_pcm(pcm))
    out = module.compress_roundtrip(samples, sample_rate=spec.sample_rate, bitrate_kbps=kbps,
                                    preserve_delay=False, quality=quality)
    audio = np.asarray(out, dtype=np.float32).reshape(pcm.shape[0], -1)
    return RoundTrip(audio, b"")


@lru_cache(maxsize=1)
def versions() -> dict[str, Any]:
    """fast-mp3-augment's version (it statically links LAME and minimp3)."""
    try:
        _module()
        from importlib.metadata import version

        return {"fast_mp3_augment": version("fast-mp3-augment")}
    except CodecUnavailableError as exc:
        return {"fast_mp3_augment": None, "error": str(exc)}
