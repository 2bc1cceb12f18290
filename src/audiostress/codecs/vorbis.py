"""Ogg Vorbis (libvorbis) through the ffmpeg subprocess backend.

PyAV's FFmpeg has no libvorbis encoder (and FFmpeg's own ``vorbis`` encoder is
experimental), so this codec runs on the ffmpeg binary (imageio-ffmpeg's bundled
one has libvorbis). ``bitrate_kbps`` is the nominal (ABR) bitrate.

Sample rate: libvorbis only has bitrate-managed (ABR) modes for some
(channels, rate, bitrate) triples; outside them ffmpeg stops with "encoder setup
failed". Measured with the bundled ffmpeg's libvorbis 1.3 (``MANAGED_KBPS``, 0.5 to
4 kbps steps): at 44.1 kHz mono takes 32..240 kbps and stereo 45..296 kbps; at
22.05 kHz stereo takes 32..180 kbps. So a clip is coded at 44.1 kHz (input at any
rate is resampled there and back), except stereo below 48 kbps (the 32 kbps
level 5), which is coded at 22.05 kHz, the rate libvorbis itself picks for such
low stereo bitrates in its quality modes. A mono stream above 240 kbps is coded
as a two-channel stream of the clip twice (both decoded channels are averaged),
since libvorbis has no mono mode that rich. The nominal bitrate is always the
whole stream's.

Delay: the Ogg granule positions let the demuxer trim priming exactly
(measured residual 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..corruptions.params import Param, SeverityTable
from ..corruptions.registry import register
from ._lossy import LossyCodec

#: Nominal bitrates (kbps) libvorbis accepts in managed mode, per (channels, rate); see the module docstring.
MANAGED_KBPS: dict[tuple[int, int], tuple[float, float]] = {
    (1, 44100): (32.0, 240.0),
    (2, 44100): (45.0, 296.0),
    (2, 22050): (32.0, 180.0),
}
#: Stereo streams below this bitrate are coded at 22.05 kHz (a margin above the measured 45 kbps edge).
STEREO_44K_MIN_KBPS = 48.0
#: Mono streams above this bitrate are coded as two identical channels.
MONO_MAX_KBPS = 240.0


@register
class Vorbis(LossyCodec):
    """Ogg Vorbis round trip at a nominal ``bitrate_kbps`` (ffmpeg backend)."""

    name = "vorbis"
    description = (
        "Ogg Vorbis (libvorbis via the ffmpeg binary) at nominal bitrate_kbps, coded at 44.1 kHz "
        "(stereo below 48 kbps at 22.05 kHz)"
    )
    encoder = "libvorbis"
    muxer = "ogg"
    demuxer = "ogg"
    native_rates = (44100,)
    default_backend = "ffmpeg"
    delays = {"ffmpeg": 0}
    params = (Param("bitrate_kbps", 64.0, float, low=32.0, high=256.0, unit="kbps", help="nominal bitrate"),)
    # ASVspoof 2021 DF used Ogg Vorbis at a low and a high bitrate; no table is published.
    def codec_rate(self, sample_rate: int, channels: int, params: Mapping[str, Any]) -> int:
        """44.1 kHz, or 22.05 kHz for a stereo stream below 48 kbps (see the module docstring)."""
        if channels >= 2 and float(params["bitrate_kbps"]) < STEREO_44K_MIN_KBPS:
            return 22050
        return 44100

    def code(self, pcm: np.ndarray, rate: int, params: Mapping[str, Any]) -> tuple[np.ndarray, float]:
        """One round trip; a mono clip above ``MONO_MAX_KBPS`` goes through as two identical channels."""
        if pcm.shape[0] == 1 and float(params["bitrate_kbps"]) > MONO_MAX_KBPS:
            coded, frac = super().code(np.repeat(pcm, 2, axis=0), rate, params)
            return coded.mean(axis=0, keepdims=True, dtype=np.float64).astype(pcm.dtype), frac
        return super().code(pcm, rate, params)

    levels = SeverityTable(
        "audiostress",
        "audiostress default: nominal 160..32 kbps (ASVspoof 2021 DF Ogg low/high bitrate, values not published); "
        "stereo 32 kbps is coded at 22.05 kHz, the only rate where libvorbis has a 32 kbps stereo mode",
        tuple({"bitrate_kbps": float(k)} for k in (160, 96, 64, 48, 32)),
    )
