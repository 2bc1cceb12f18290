"""GSM 06.10 full rate (13 kbps) through pedalboard's ``GSMFullRateCompressor``.

Sample rate: GSM is defined at 8 kHz mono; the clip is resampled to 8 kHz and
back here and each channel is coded on its own. The codec has one rate, so the
severity knob is ``passes``, the number of tandem encode -> decode generations
(GSM-to-GSM transcoding in mobile-to-mobile calls without tandem-free
operation); each pass lowers the SNR (measured 8.1 -> 4.6 dB over 1..5 passes).

Delay: pedalboard compensates the codec delay itself (measured lag 0).
"""

from __future__ import annotations

from ..corruptions.params import Param, SeverityTable
from ..corruptions.registry import register
from ._lossy import LossyCodec


@register
class Gsm(LossyCodec):
    """GSM full-rate round trip(s) at 8 kHz (pedalboard backend)."""

    name = "gsm"
    description = "GSM 06.10 full rate (pedalboard) at 8 kHz; severity = tandem coding passes."
    encoder = "gsm_fr"
    native_rates = (8000,)
    max_channels = 1
    min_samples = 1024
    default_backend = "pedalboard"
    delays = {"pedalboard": 0}
    params = (Param("passes", 1, int, low=1, high=10, help="tandem encode/decode generations"),)
    levels = SeverityTable(
        "tandem",
        "audiostress: 1..5 tandem GSM-FR generations (no published GSM severity table)",
        tuple({"passes": k} for k in (1, 2, 3, 4, 5)),
    )
