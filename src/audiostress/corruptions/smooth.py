"""Centred moving-average smoothing over ``window`` samples."""

from __future__ import annotations

import torch

from .._batch import valid_mask
from .base import Corruption
from .params import Param, SeverityTable
from .registry import register


@register
class Smooth(Corruption):
    """Replace each sample by the mean of ``window`` samples around it (a box low-pass).

    The window is centred: ``y[n]`` is the mean of ``x[n - w//2]`` .. ``x[n + w - 1 - w//2]``
    (``w = window``), as ``numpy.convolve(x, ones(w) / w, mode="same")``: no
    delay for odd windows, half a sample early for even ones. Samples outside the valid part
    count as zero. The first spectral null is at ``sample_rate / window`` Hz.
    """

    name = "smooth"
    family = "filter"
    description = "Centred moving average over `window` samples (box low-pass, nulls at k*sr/window)."
    params = (Param("window", 10, int, low=1, high=65536, unit="samples", help="moving-average length"),)
    # Li, Chen & Wei 2025 / AudioMarkBench moving-average windows (ANCHORS.md).
    levels = SeverityTable(
        "li2025",
        "Li, Chen & Wei 2025 / AudioMarkBench smoothing windows 6-22 samples",
        tuple({"window": w} for w in (6, 10, 14, 18, 22)),
    )

    def transform_group(self, audio, sample_rate, generators, lengths, *, window):  # type: ignore[override]
        b, c, t = audio.shape
        x = (audio * valid_mask(lengths, t, audio.device)).reshape(b * c, 1, t)
        left = window // 2
        x = torch.nn.functional.pad(x, (left, window - 1 - left))
        kernel = torch.full((1, 1, window), 1.0 / window, dtype=x.dtype, device=x.device)
        return torch.nn.functional.conv1d(x, kernel).reshape(b, c, t)
