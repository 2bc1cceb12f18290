"""Band limiting by resampling down to a lower rate and back up."""

from __future__ import annotations

import math

import torch
import torchaudio.functional as AF

from .base import Corruption
from .params import Param, SeverityTable
from .registry import register

#: Windowed-sinc design for both resampling steps: a Kaiser window (beta 8.6) over 16
#: zero crossings, cut at 0.9 of the lower Nyquist, stops above the lower Nyquist by
#: well over 40 dB (tests/corruptions/test_resample_band_limit.py measures it).
FILTER_ZERO_CROSSINGS = 16
ROLLOFF = 0.9
KAISER_BETA = 8.6


def band_limit(audio: torch.Tensor, sample_rate: int, target_hz: int) -> torch.Tensor:
    """Resample ``audio[..., T]`` to ``target_hz`` and back, cropped or padded to ``T`` samples.

    Both steps are zero-phase, so the output stays aligned with the input. For
    ``target_hz >= sample_rate`` there is nothing to remove and the input is returned.
    """
    if target_hz >= sample_rate:
        return audio.clone()
    t = audio.shape[-1]
    design = dict(
        lowpass_filter_width=FILTER_ZERO_CROSSINGS,
        rolloff=ROLLOFF,
        resampling_method="sinc_interp_kaiser",
        beta=KAISER_BETA,
    )
    # Zeros past the end hold both filters' tails, so the last samples do not depend on
    # how much padding follows the clip.
    margin = 2 * math.ceil(FILTER_ZERO_CROSSINGS / ROLLOFF * sample_rate / target_hz) + 1
    x = torch.nn.functional.pad(audio.to(torch.float64), (0, margin))
    low = AF.resample(x, sample_rate, target_hz, **design)
    back = AF.resample(low, target_hz, sample_rate, **design)
    if back.shape[-1] < t:
        back = torch.nn.functional.pad(back, (0, t - back.shape[-1]))
    return back[..., :t].to(audio.dtype)


@register
class ResampleBandLimit(Corruption):
    """Down to ``target_hz`` and back up: removes everything above ``target_hz / 2``.

    Models audio that passed through a lower sample rate (telephony, old
    recorders, web uploads). Length and timing are kept. ``target_hz`` at or above
    the clip's sample rate is the identity.
    """

    name = "resample_band_limit"
    family = "filter"
    # Speech energy sits mostly below 1.5 kHz, so waveform SNR saturates (8.9, 7.2, 6.7, 6.6,
    # 6.5 dB over the table); the log-spectral distance keeps rising (36, 46, 53, 58, 60 dB).
    strength_metric = "lsd"
    description = "Resample to `target_hz` and back (band limit at target_hz/2); identity if target_hz >= rate."
    params = (
        Param("target_hz", 8000, int, low=1000, high=384000, unit="Hz", help="intermediate sample rate"),
    )
    # No published anchor. For 16 kHz speech: 11025 Hz (low-rate consumer audio), 8000 Hz
    # (narrow-band telephony), then 6000, 4000 and 3000 Hz (bandwidth 3, 2 and 1.5 kHz),
    # where fricatives and then the second formant disappear.
    levels = SeverityTable(
        "audiostress",
        "audiostress default: intermediate rates 11025, 8000, 6000, 4000, 3000 Hz (for 16 kHz input)",
        ({"target_hz": 11025}, {"target_hz": 8000}, {"target_hz": 6000}, {"target_hz": 4000},
         {"target_hz": 3000}),
    )

    def transform_group(self, audio, sample_rate, generators, lengths, *, target_hz):  # type: ignore[override]
        return band_limit(audio, sample_rate, int(target_hz))
