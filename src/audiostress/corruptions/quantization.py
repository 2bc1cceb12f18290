"""Uniform amplitude quantisation of [-1, 1] into a number of levels."""

from __future__ import annotations

from ._pcm import quantize
from .base import Corruption
from .params import Param, SeverityTable
from .registry import register


@register
class Quantization(Corruption):
    """Round every sample onto ``levels`` evenly spaced values covering [-1, 1).

    The step is ``2 / levels`` and zero is one of the levels, so ``levels = 2 ** b``
    equals ``bit_depth`` at ``b`` bits without dither. Samples beyond the grid
    saturate at its ends.
    """

    name = "quantization"
    family = "modification"
    description = "Uniform quantisation of [-1, 1] into `levels` values (step 2/levels, zero kept)."
    params = (
        Param("levels", 256, int, low=2, high=65536, unit="levels", help="number of quantisation levels"),
    )
    # Li, Chen & Wei 2025: {4, 16, 64, 256, 1024} levels; severity 1 = most levels.
    levels = SeverityTable(
        "li2025",
        "Li, Chen & Wei 2025 quantisation levels, most levels (mildest) first",
        ({"levels": 1024}, {"levels": 256}, {"levels": 64}, {"levels": 16}, {"levels": 4}),
    )
    # AudioMarkBench uses the coarser {4, 8, 16, 32, 64} (ANCHORS.md).
    tables = {
        "audiomarkbench": SeverityTable(
            "audiomarkbench",
            "AudioMarkBench quantisation levels, most levels (mildest) first",
            ({"levels": 64}, {"levels": 32}, {"levels": 16}, {"levels": 8}, {"levels": 4}),
        )
    }

    def transform_group(self, audio, sample_rate, generators, lengths, *, levels):  # type: ignore[override]
        return quantize(audio, int(levels))
