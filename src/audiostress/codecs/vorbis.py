"""Ogg Vorbis (libvorbis) through the ffmpeg subprocess backend.

PyAV's FFmpeg has no libvorbis encoder (and FFmpeg's own ``vorbis`` encoder is
experimental), so this codec runs on the ffmpeg binary (imageio-ffmpeg's bundled
one has libvorbis). ``bitrate_kbps`` is the nominal (ABR) bitrate.

Sample rate: libvorbis only has bitrate-managed modes for some (rate, bitrate)
pairs, so the clip is coded at 44.1 kHz (the rate its tuned modes cover; 16 kHz
input is resampled up and back).

Delay: the Ogg granule positions let the demuxer trim priming exactly
(measured residual 0).
"""

from __future__ import annotations

from ..corruptions.params import Param, SeverityTable
from ..corruptions.registry import register
from ._lossy import LossyCodec


@register
class Vorbis(LossyCodec):
    """Ogg Vorbis round trip at a nominal ``bitrate_kbps`` (ffmpeg backend)."""

    name = "vorbis"
    description = "Ogg Vorbis (libvorbis via the ffmpeg binary) at nominal bitrate_kbps, coded at 44.1 kHz."
    encoder = "libvorbis"
    muxer = "ogg"
    demuxer = "ogg"
    native_rates = (44100,)
    default_backend = "ffmpeg"
    delays = {"ffmpeg": 0}
    params = (Param("bitrate_kbps", 64.0, float, low=32.0, high=256.0, unit="kbps", help="nominal bitrate"),)
    # ASVspoof 2021 DF used Ogg Vorbis at a low and a high bitrate; no table is published.
    levels = SeverityTable(
        "audiostress",
        "audiostress default: nominal 160..32 kbps (ASVspoof 2021 DF Ogg low/high bitrate, values not published)",
        tuple({"bitrate_kbps": float(k)} for k in (160, 96, 64, 48, 32)),
    )
