"""AAC-LC (FFmpeg's native ``aac`` encoder) in an .m4a (MP4) container.

Sample rate: the clip is resampled to the smallest AAC rate >= its own that can
carry the bitrate (the native encoder caps a frame at 6144 bits per channel, i.e.
``6 * rate`` bit/s per channel; above that it would silently clamp), and back.
16 kHz speech runs at 16 kHz up to 96 kbps; 128 kbps runs at 22.05 kHz.

Delay: the encoder primes 1024 samples. In PyAV's seekable .m4a the MP4 edit
list records them and the demuxer drops them (measured residual 0). On an
ffmpeg pipe the MP4 is written fragmented without that edit list, so the 1024
samples are cut here (measured).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..corruptions.params import Param, SeverityTable
from ..corruptions.registry import register
from ._lossy import LossyCodec, backend_param

#: Encoder priming of FFmpeg's native AAC encoder (samples).
AAC_PRIMING = 1024
#: Maximum bits per second per channel, as a multiple of the sample rate (6144 bits / 1024 samples).
MAX_BITS_PER_SAMPLE = 6


@register
class Aac(LossyCodec):
    """AAC-LC round trip at ``bitrate_kbps`` through .m4a, delay-compensated."""

    name = "aac"
    description = "AAC-LC (native FFmpeg aac) in .m4a at bitrate_kbps; rate raised if the bitrate needs it."
    encoder = "aac"
    muxer = "ipod"
    demuxer = "mov"
    native_rates = (7350, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)
    delays = {"pyav": 0, "ffmpeg": AAC_PRIMING}
    # Waveform SNR is not monotone in bitrate for this encoder (perceptual noise substitution
    # and band switching: 40 kbps measured 6.7 dB vs 8.7 dB at 32 kbps on speech); the
    # log-spectral distance is (42 -> 4 dB from 16 to 64 kbps).
    strength_metric = "lsd"
    params = (
        Param("bitrate_kbps", 32.0, float, low=8.0, high=512.0, unit="kbps", help="target bitrate"),
        backend_param(("pyav", "ffmpeg")),
    )
    # No published AAC ladder for speech: ASVspoof 5's 16-128 kbps range bounds it; steps halve quality.
    levels = SeverityTable(
        "audiostress",
        "audiostress default: 64..16 kbps, inside the ASVspoof 5 C06 range (16-128 kbps)",
        tuple({"bitrate_kbps": float(k)} for k in (64, 48, 32, 24, 16)),
    )
    tables = {
        "codecs": SeverityTable(
            "codecs",
            "ArtifactNet/ArtifactBench aac@128k (native aac, .m4a); levels 1-4 a ladder down to it",
            tuple({"bitrate_kbps": float(k)} for k in (320, 256, 192, 160, 128)),
        ),
        # Second stage of the ASVspoof 2021 DF cascades (MP3 -> M4A, Ogg -> M4A; bitrates not
        # published): fixed at 96 kbps so the cascade's severity axis is the first stage's bitrate.
        # Laddering this stage too makes the cascade unordered, since AAC's waveform SNR is not
        # monotone in bitrate (see strength_metric).
        "cascade": SeverityTable(
            "cascade",
            "audiostress: M4A stage of the ASVspoof 2021 DF cascades, fixed 96 kbps",
            tuple({"bitrate_kbps": 96.0} for _ in range(5)),
        ),
        "asvspoof5": SeverityTable(
            "asvspoof5",
            "ASVspoof 5 C06 M4A/AAC 16-128 kbps",
            tuple({"bitrate_kbps": float(k)} for k in (128, 96, 64, 32, 16)),
        ),
    }

    def codec_rate(self, sample_rate: int, channels: int, params: Mapping[str, Any]) -> int:
        bps = float(params["bitrate_kbps"]) * 1000.0
        for rate in self.native_rates:
            if rate >= sample_rate and MAX_BITS_PER_SAMPLE * rate * channels >= bps:
                return rate
        return self.native_rates[-1]
