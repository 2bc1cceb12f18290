"""Round trips through Spotify pedalboard: GSM 06.10 full rate and LAME VBR MP3.

pedalboard's plugins take float32 ``[C, N]`` and return the same length with
their codec delay already compensated (measured: cross-correlation lag 0 for
both plugins), so no residual delay is removed for this backend.
``GSMFullRateCompressor`` resamples to 8 kHz internally; callers hand it 8 kHz
audio so that step is the identity.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from ._common import CodecSpec, CodecUnavailableError, RoundTrip, serves, to_float_pcm

name = "pedalboard"

#: Encoder names this backend serves (ffmpeg-style names for uniform messages).
ENCODERS = ("gsm_fr", "libmp3lame_vbr")


def _module() -> Any:
    try:
        import pedalboard
    except ImportError as exc:  # pragma: no cover - pedalboard is a runtime dependency
        raise CodecUnavailableError("The pedalboard backend needs pedalboard: pip install 'pedalboard>=0.9'") from exc
    return pedalboard


def has_encoder(encoder: str) -> bool:
    """Whether ``encoder`` is one this backend serves and pedalboard imports."""
    return serves(_module, ENCODERS, encoder)


def gsm_full_rate(pcm: np.ndarray, sample_rate: int) -> np.ndarray:
    """GSM 06.10 full-rate (13 kbps) encode -> decode of float32 ``[C, N]``."""
    plugin = _module().GSMFullRateCompressor()
    return np.asarray(plugin(to_float_pcm(pcm), float(sample_rate)), dtype=np.float32)


def mp3_vbr(pcm: np.ndarray, sample_rate: int, vbr_quality: float) -> np.ndarray:
    """LAME VBR MP3 encode -> decode at ``vbr_quality`` (0 best .. 10 worst)."""
    plugin = _module().MP3Compressor(vbr_quality=float(vbr_quality))
    return np.asarray(plugin(to_float_pcm(pcm), float(sample_rate)), dtype=np.float32)


def roundtrip(spec: CodecSpec, pcm: np.ndarray) -> RoundTrip:
    """Run the plugin named by ``spec.encoder``; MP3 VBR quality comes from ``spec.options``."""
    if spec.encoder == "gsm_fr":
        return RoundTrip(gsm_full_rate(pcm, spec.sample_rate), b"")
    if spec.encoder == "libmp3lame_vbr":
        quality = float(dict(spec.options).get("vbr_quality", "4"))
        return RoundTrip(mp3_vbr(pcm, spec.sample_rate, quality), b"")
    raise CodecUnavailableError(
        f"{spec.codec}: encoder {spec.encoder!r} is not available in the pedalboard backend "
        f"(it serves {', '.join(ENCODERS)}); use backend=pyav or backend=ffmpeg"
    )


@lru_cache(maxsize=1)
def versions() -> dict[str, Any]:
    """pedalboard's version (it statically links its LAME and libgsm)."""
    try:
        return {"pedalboard": str(_module().__version__)}
    except CodecUnavailableError as exc:
        return {"pedalboard": None, "error": str(exc)}
