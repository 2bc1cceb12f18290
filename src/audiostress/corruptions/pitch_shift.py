"""Pitch change by a number of semitones with the length and timing kept."""

from __future__ import annotations

import math
from fractions import Fraction

import torch
import torchaudio.functional as AF

from ._stft import frame_sizes, time_scale
from .base import Corruption
from .params import Param, SeverityTable
from .registry import register

#: The resampling ratio is the closest fraction p/q to 2**(semitones/12) whose error is
#: below this many cents (trying denominators up to ``MAX_DENOMINATOR``); the table
#: values need q <= 200 for an error under 0.2 cent, far below audible pitch steps.
PITCH_TOLERANCE_CENTS = 0.2
MAX_DENOMINATOR = 1000
_DENOMINATORS = (50, 100, 200, 400, MAX_DENOMINATOR)


def pitch_ratio(semitones: float) -> Fraction:
    """The rational frequency ratio ``p/q`` used for ``semitones`` (see ``PITCH_TOLERANCE_CENTS``)."""
    exact = 2.0 ** (semitones / 12.0)
    for limit in _DENOMINATORS:
        ratio = Fraction(exact).limit_denominator(limit)
        if abs(1200.0 * math.log2(float(ratio) / exact)) <= PITCH_TOLERANCE_CENTS:
            break
    return ratio


@register
class PitchShift(Corruption):
    """Shift every frequency by ``2 ** (semitones / 12)``; duration and alignment are kept.

    The clip is time-stretched by the pitch ratio ``f`` with a phase vocoder
    (``time_stretch``'s engine), then resampled by ``1/f`` with
    ``torchaudio.functional.resample`` (a zero-phase windowed-sinc filter), which
    brings it back to ``T`` samples at the original timing and moves the pitch.
    ``f`` is a small fraction ``p/q`` within ``PITCH_TOLERANCE_CENTS`` of the exact
    ratio, so the resampler's polyphase kernel stays small.
    """

    name = "pitch_shift"
    family = "modification"
    description = "Phase-vocoder pitch shift by `semitones`, length and timing kept."
    strength_metric = "lsd"  # waveform SNR is ~0 dB at every level: the waveform no longer lines up
    params = (Param("semitones", 1.0, float, low=-12.0, high=12.0, unit="semitones", help="pitch change"),)
    # Li, Chen & Wei 2025 use six values {-2, -1, -0.5, +0.5, +1, +2} for five levels.
    # Ordered by |semitones|, the downward shift first on ties: on speech-like clips a
    # downward shift measures consistently milder (log-spectral distance, e.g. -0.5: 9.0,
    # +0.5: 9.2, -1: 9.6, +1: 9.9, -2: 10.9, +2: 11.1 dB), so +0.5 is the value dropped.
    levels = SeverityTable(
        "li2025",
        "Li, Chen & Wei 2025 pitch-shift semitones: five of six, ordered by |semitones| "
        "(downward first on ties; +0.5 dropped)",
        ({"semitones": -0.5}, {"semitones": -1.0}, {"semitones": 1.0}, {"semitones": -2.0}, {"semitones": 2.0}),
    )

    def transform_group(self, audio, sample_rate, generators, lengths, *, semitones):  # type: ignore[override]
        if semitones == 0:
            return audio.clone()
        ratio = pitch_ratio(float(semitones))
        t = audio.shape[-1]
        # Stretch so that stretched sample u holds input time u / ratio, keeping the
        # vocoder's spill past the end (up to one frame) so the resampler sees all of it ...
        stretched_len = math.ceil(t * ratio) + frame_sizes(sample_rate)[0]
        stretched = time_scale(audio, sample_rate, 1.0 / float(ratio), stretched_len)
        # ... then resample by q/p: output sample j reads stretched sample j * p / q = input time j.
        out = AF.resample(stretched, ratio.numerator, ratio.denominator)
        if out.shape[-1] < t:
            out = torch.nn.functional.pad(out, (0, t - out.shape[-1]))
        return out[..., :t].to(audio.dtype)
