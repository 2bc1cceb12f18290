"""Uniform mid-tread quantisation of [-1, 1], shared by ``quantization`` and ``bit_depth``."""

from __future__ import annotations

import torch
from torch import Tensor


def quantize(audio: Tensor, levels: int, dither_lsb: Tensor | None = None) -> Tensor:
    """Round ``audio`` onto ``levels`` uniformly spaced values with step ``2 / levels``.

    The grid is the integer-PCM one: ``k * 2 / levels`` for ``k`` in
    ``-(levels // 2) .. ceil(levels / 2) - 1``, so zero is a level (silence stays
    silent), ``levels = 2 ** bits`` is exactly ``bits``-bit PCM, and values beyond
    the grid saturate at its ends. ``dither_lsb`` (same shape as ``audio``, in units
    of one step) is added before rounding. Computed in float64; returns ``audio.dtype``.
    """
    step = 2.0 / levels
    low = -(levels // 2)
    high = (levels + 1) // 2 - 1
    scaled = audio.to(torch.float64) / step
    if dither_lsb is not None:
        scaled = scaled + dither_lsb.to(device=audio.device, dtype=torch.float64)
    codes = torch.round(scaled).clamp(low, high)
    return (codes * step).to(audio.dtype)


def tpdf_dither(generators: list[torch.Generator], shape: tuple[int, int, int], lengths: Tensor) -> Tensor:
    """Triangular (TPDF) dither of +-1 step, ``[B, C, T]`` float64 on CPU, zero in the padding.

    Item ``i`` draws ``2 x C x lengths[i]`` uniforms from ``generators[i]`` only, so the
    dither does not depend on the batch it sits in or on the padded length.
    """
    b, c, t = shape
    out = torch.zeros(b, c, t, dtype=torch.float64)
    for i, gen in enumerate(generators):
        n = int(lengths[i])
        if n:
            u = torch.rand(2, c, n, generator=gen, dtype=torch.float64)
            out[i, :, :n] = u[0] - u[1]
    return out
