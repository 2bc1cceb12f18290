"""Detector latency: milliseconds of detector time per second of audio.

Each score row may record ``detect_ms`` (its share of the detector call that
scored it: the call's wall time divided by the clips in the call) and ``audio_s``
(the duration of the audio the detector was given). A set of rows' latency is
``sum(detect_ms) / sum(audio_s)`` over the rows that record both (a ratio of
sums, so long clips weigh by their length); ``None`` when no row records them
(rows from a store written before the columns existed). Corruption time is not
counted.

>>> from audiostress.metrics._table import Scored
>>> ms_per_audio_s([Scored(0.0, 0.5, None, 30.0, 2.0), Scored(0.0, 0.5, None, 10.0, 2.0)])
10.0
>>> ms_per_audio_s([Scored(0.0, 0.5, None)]) is None
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ._table import Scored

__all__ = ["ms_per_audio_s"]


def ms_per_audio_s(rows: Iterable[Scored]) -> float | None:
    """``sum(detect_ms) / sum(audio_s)`` over the rows recording both (finite, ``audio_s > 0``), else ``None``."""
    ms = seconds = 0.0
    for r in rows:
        if r.detect_ms is None or r.audio_s is None:
            continue
        if math.isfinite(r.detect_ms) and math.isfinite(r.audio_s) and r.audio_s > 0:
            ms += r.detect_ms
            seconds += r.audio_s
    return ms / seconds if seconds > 0 else None
