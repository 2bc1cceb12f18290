"""AMR-NB (3GPP narrowband speech codec, OpenCORE) in the .amr container.

Sample rate: AMR-NB is defined at 8 kHz mono only; the clip is resampled to
8 kHz and back, and each channel is coded on its own. ``bitrate_kbps`` is one of
the eight AMR-NB modes (4.75 .. 12.2 kbps).

Delay: the .amr container carries no priming information; OpenCORE's
encoder+decoder delay is 39.6 samples at 8 kHz (about 5 ms), measured by
cross-correlation with speech at 48 kHz input (237..238 samples at 48 kHz over
four clips and three modes), and cut here (39 at 8 kHz, the rest at the input
rate).
"""

from __future__ import annotations

from ..corruptions.params import Param, SeverityTable
from ..corruptions.registry import register
from ._lossy import LossyCodec, backend_param

#: AMR-NB modes MR475 .. MR122 in kbps (3GPP TS 26.071).
AMR_NB_MODES_KBPS = (4.75, 5.15, 5.9, 6.7, 7.4, 7.95, 10.2, 12.2)
#: Encoder + decoder delay of OpenCORE AMR-NB (samples at 8 kHz, measured at 48 kHz input).
AMR_NB_DELAY = 39.6


@register
class AmrNb(LossyCodec):
    """AMR-NB round trip at one of its modes, at 8 kHz, delay-compensated."""

    name = "amr_nb"
    description = "AMR-NB (OpenCORE) at 8 kHz, bitrate_kbps one of its eight modes 4.75..12.2."
    encoder = "libopencore_amrnb"
    muxer = "amr"
    demuxer = "amr"
    native_rates = (8000,)
    max_channels = 1
    min_samples = 1024
    delays = {"pyav": AMR_NB_DELAY, "ffmpeg": AMR_NB_DELAY}
    # CELP keeps the spectral envelope, not the waveform: SNR sits near 1 dB at every mode
    # (measured 0.88..0.95, unordered), while the log-spectral distance orders the modes.
    strength_metric = "lsd"
    params = (
        Param("bitrate_kbps", 12.2, float, choices=AMR_NB_MODES_KBPS, unit="kbps", help="AMR-NB mode"),
        backend_param(("pyav", "ffmpeg")),
    )
    # No published per-severity table; five of the eight 3GPP modes spanning the full range.
    levels = SeverityTable(
        "audiostress",
        "audiostress default: AMR-NB modes 12.2, 10.2, 7.4, 5.9, 4.75 kbps (3GPP TS 26.071)",
        tuple({"bitrate_kbps": k} for k in (12.2, 10.2, 7.4, 5.9, 4.75)),
    )
    tables = {
        "asvspoof5": SeverityTable(
            "asvspoof5",
            "ASVspoof 5 C09 AMR-NB 4.75-12.2 kbps",
            tuple({"bitrate_kbps": k} for k in (12.2, 10.2, 7.95, 6.7, 4.75)),
        ),
    }
