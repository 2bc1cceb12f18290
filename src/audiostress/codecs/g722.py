"""G.722 (ITU-T 7 kHz wideband ADPCM, 64 kbps) at 16 kHz, raw G.722 stream.

Sample rate: G.722 is defined at 16 kHz; other rates are resampled to 16 kHz
and back. FFmpeg's encoder writes 64 kbps only, so there is no bitrate
parameter; the severity knob is ``passes``, the number of tandem encode ->
decode generations (transcoding chains on telephone networks), which degrades
the ADPCM bands step by step.

Delay: the QMF analysis + synthesis filter pair delays 22 samples at 16 kHz
(measured by cross-correlation, both backends); cut here after every pass.
"""

from __future__ import annotations

from ..corruptions.params import Param, SeverityTable
from ..corruptions.registry import register
from ._lossy import LossyCodec, backend_param

#: QMF delay of G.722 (samples at 16 kHz, measured).
G722_DELAY = 22


@register
class G722(LossyCodec):
    """G.722 round trip(s) at 16 kHz, delay-compensated."""

    name = "g722"
    description = "G.722 64 kbps wideband ADPCM at 16 kHz; severity = tandem coding passes."
    encoder = "g722"
    muxer = "g722"
    demuxer = "g722"
    native_rates = (16000,)
    max_channels = 1
    min_samples = 256
    delays = {"pyav": G722_DELAY, "ffmpeg": G722_DELAY}
    params = (
        Param("passes", 1, int, low=1, high=10, help="tandem encode/decode generations"),
        backend_param(("pyav", "ffmpeg")),
    )
    levels = SeverityTable(
        "tandem",
        "audiostress: 1..5 tandem G.722 generations (no published G.722 severity table)",
        tuple({"passes": k} for k in (1, 2, 3, 4, 5)),
    )
