"""MP3 (libmp3lame, CBR) encode -> decode.

Sample rate: MP3 only exists at the MPEG rates, and each MPEG version allows a
different bitrate range (MPEG-1 32/44.1/48 kHz: 32..320 kbps; MPEG-2
16/22.05/24 kHz: 8..160 kbps; MPEG-2.5 8/11.025/12 kHz: 8..64 kbps). The clip is
resampled to the smallest rate >= its own that allows the requested bitrate
(16 kHz speech at 8..160 kbps stays at 16 kHz; 256 kbps runs at 32 kHz) and back.
LAME rounds a bitrate that is not in the MPEG table to the nearest legal one.

Delay: LAME adds 576 samples of encoder delay and the decoder 529. With PyAV the
file is written to a seekable buffer, so the LAME/Xing tag carries the delay and
padding and the demuxer removes them (measured residual 0). On an ffmpeg pipe the
tag cannot be written, so the 1105 samples are cut here. pedalboard compensates
internally (measured 0).

``backend=pedalboard`` is a fast VBR path: ``bitrate_kbps`` picks the LAME ``-V``
preset whose nominal average bitrate is nearest (V0 245 .. V9 65 kbps, LAME docs),
so the actual bitrate differs from the CBR backends.

``backend=fast_mp3`` (fast-mp3-augment, the ``[augment]`` extra) is the same LAME
CBR encode with ``quality``, decoded by minimp3 in one native call and delay
compensated there (measured lag 0); it is the fastest path for training, but its
decoder is not libavcodec's, so its bytes differ from ``pyav``'s.

``quality`` is LAME's algorithm quality (ffmpeg's ``compression_level``, 0..9):
the same CBR bitrate, less search. Measured on PyAV for one 4 s clip: default
about 94 ms, 5 about 55 ms, 7 about 41 ms (ANCHORS.md). It defaults to null
(LAME's own default), so every severity table and published protocol is
unchanged; the training presets (``augment.presets``) use 7 and say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..corruptions.params import Param, SeverityTable
from ..corruptions.registry import register
from ._lossy import LossyCodec, backend_param

#: (rates, lowest kbps, highest kbps) per MPEG audio version.
MPEG_VERSIONS = (
    ((8000, 11025, 12000), 8, 64),
    ((16000, 22050, 24000), 8, 160),
    ((32000, 44100, 48000), 32, 320),
)
#: LAME VBR presets V0..V9 and their nominal average bitrates in kbps (LAME documentation).
VBR_PRESET_KBPS = (245, 225, 190, 175, 165, 130, 115, 100, 85, 65)
#: LAME encoder delay (576) plus decoder delay (529), left in the stream on a pipe.
LAME_TOTAL_DELAY = 1105


def vbr_quality_for(kbps: float) -> int:
    """The LAME ``-V`` preset whose nominal bitrate is nearest to ``kbps``."""
    return min(range(len(VBR_PRESET_KBPS)), key=lambda v: abs(VBR_PRESET_KBPS[v] - kbps))


@register
class Mp3(LossyCodec):
    """MP3 round trip at ``bitrate_kbps`` (CBR), delay-compensated."""

    name = "mp3"
    description = "MP3 (libmp3lame CBR) encode/decode at bitrate_kbps; MPEG rate chosen for the bitrate."
    encoder = "libmp3lame"
    muxer = "mp3"
    demuxer = "mp3"
    native_rates = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
    delays = {"pyav": 0, "ffmpeg": LAME_TOTAL_DELAY, "pedalboard": 0, "fast_mp3": 0}
    params = (
        Param("bitrate_kbps", 32.0, float, low=8.0, high=320.0, unit="kbps", help="CBR bitrate"),
        backend_param(("pyav", "ffmpeg", "pedalboard", "fast_mp3")),
        Param("quality", None, int, low=0, high=9, optional=True,
              help="LAME algorithm quality (compression_level): 0 best/slowest .. 9 fastest; null = LAME's default. "
              "Same CBR size; training presets use 7 for speed, severity tables keep the default"),
    )
    # Li, Chen & Wei 2025 / AudioMarkBench MP3 levels (ANCHORS.md), mildest first.
    levels = SeverityTable(
        "li2025",
        "Li, Chen & Wei 2025 / AudioMarkBench MP3 kbps 40, 32, 24, 16, 8",
        tuple({"bitrate_kbps": float(k)} for k in (40, 32, 24, 16, 8)),
    )
    tables = {
        # ArtifactNet codec-pair drift uses mp3@128k (libmp3lame); the ladder ends there.
        "codecs": SeverityTable(
            "codecs",
            "ArtifactNet/ArtifactBench mp3@128k (libmp3lame); levels 1-4 a ladder down to it",
            tuple({"bitrate_kbps": float(k)} for k in (320, 256, 192, 160, 128)),
        ),
        # ASVspoof 5 C05: MP3 45-256 kbps. 45 is not an MPEG bitrate; 48 is the nearest legal one.
        "asvspoof5": SeverityTable(
            "asvspoof5",
            "ASVspoof 5 C05 MP3 45-256 kbps (45 -> legal 48)",
            tuple({"bitrate_kbps": float(k)} for k in (256, 192, 128, 96, 48)),
        ),
    }

    def codec_rate(self, sample_rate: int, channels: int, params: Mapping[str, Any]) -> int:
        kbps = float(params["bitrate_kbps"])
        allowed = sorted(r for rates, lo, hi in MPEG_VERSIONS if lo <= kbps <= hi for r in rates)
        above = [r for r in allowed if r >= sample_rate]
        return above[0] if above else allowed[-1]

    def encoder_name(self, params: Mapping[str, Any]) -> str:
        return "libmp3lame_vbr" if self.backend_name(params) == "pedalboard" else self.encoder

    def encoder_options(self, params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        if self.backend_name(params) == "pedalboard":
            return (("vbr_quality", str(vbr_quality_for(float(params["bitrate_kbps"])))),)
        quality = params.get("quality")
        return () if quality is None else (("compression_level", str(int(quality))),)
