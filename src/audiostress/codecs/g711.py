"""G.711 mu-law and A-law (ITU-T G.711) at 8 kHz, in a WAV container.

Sample rate: G.711 is defined at 8 kHz; the clip is resampled to 8 kHz and back
(that band limit is part of the impairment).

G.711 has no bitrate (always 64 kbps) and re-coding is idempotent, so the
severity knob is the level the speech reaches the quantiser at:
``input_level_dbfs`` scales the clip so its RMS over the valid samples has that
level before coding, and the original level is restored after. Level -26 dBFS is
ITU-T P.56's nominal active speech level; quieter speech uses the companding
curve's coarse low-level steps and loses SNR (mu-law about 37 -> 15 dB from -26
to -66 dBFS on the speech-like clip). ``None`` (the default) codes the clip at
its own level.

Delay: none (sample-by-sample companding; measured 0).
"""

from __future__ import annotations

from ..corruptions.params import Param, SeverityTable
from ..corruptions.registry import register
from ._lossy import LossyCodec, backend_param

LEVELS_DBFS = (-26.0, -36.0, -46.0, -56.0, -66.0)


def _level_param() -> Param:
    return Param(
        "input_level_dbfs", None, float, low=-90.0, high=0.0, unit="dBFS", optional=True,
        help="RMS level presented to the codec (restored after); None = as is",
    )


def _level_table(law: str) -> SeverityTable:
    return SeverityTable(
        "p56_levels",
        f"audiostress: G.711 {law} with the speech at ITU-T P.56's nominal -26 dBFS, then 10 dB quieter per level",
        tuple({"input_level_dbfs": v} for v in LEVELS_DBFS),
    )


class _G711(LossyCodec):
    muxer = "wav"
    demuxer = "wav"
    native_rates = (8000,)
    min_samples = 256
    delays = {"pyav": 0, "ffmpeg": 0}
    params = (_level_param(), backend_param(("pyav", "ffmpeg")))


@register
class MuLaw(_G711):
    """G.711 mu-law round trip at 8 kHz."""

    name = "mulaw"
    description = "G.711 mu-law at 8 kHz; severity lowers the speech level reaching the quantiser."
    encoder = "pcm_mulaw"
    levels = _level_table("mu-law")


@register
class ALaw(_G711):
    """G.711 A-law round trip at 8 kHz."""

    name = "alaw"
    description = "G.711 A-law at 8 kHz; severity lowers the speech level reaching the quantiser."
    encoder = "pcm_alaw"
    levels = _level_table("A-law")
