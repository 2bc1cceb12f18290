"""Apply an ``InputSpec`` to one clip: downmix, resample, then crop/pad or cut into windows.

Each clip becomes one or more 1-D float32 model inputs of ``spec.length`` samples
(or of its own length when ``length`` is null). Randomness (``crop: random``)
comes only from the clip's own generator.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..audio import resample
from .spec import DEFAULT_PAD, InputSpec


def downmix(audio: Tensor, channels: str) -> Tensor:
    """``[C, T]`` or ``[T]`` -> ``[T]`` float32 (channel mean, or the first channel)."""
    if not isinstance(audio, Tensor) or not audio.is_floating_point():
        raise ValueError(f"expected a floating-point audio tensor, got {getattr(audio, 'dtype', type(audio).__name__)}")
    if audio.dim() == 1:
        x = audio
    elif audio.dim() == 2:
        if audio.shape[0] == 0:
            raise ValueError("expected audio with at least one channel, got shape [0, T]")
        x = audio.mean(dim=0) if channels == "mean" else audio[0]
    else:
        raise ValueError(f"expected audio shaped [C, T] or [T], got {list(audio.shape)}")
    return x.to(torch.float32)


def fit(segment: Tensor, length: int, pad: str) -> Tensor:
    """Pad a ``[t]`` segment (``t <= length``) to ``length`` by tiling it or with zeros."""
    t = segment.shape[-1]
    if t >= length:
        return segment[..., :length]
    if pad == "zero" or t == 0:
        return F.pad(segment, (0, length - t))
    reps = math.ceil(length / t)
    return segment.repeat(reps)[:length]


def window_starts(total: int, length: int, hop: int) -> list[int]:
    """Start offsets covering ``total`` samples; the last window may run past the end (then padded)."""
    n = 1 + math.ceil(max(0, total - length) / hop)
    return [k * hop for k in range(n)]


def prepare_clip(
    audio: Tensor,
    sample_rate: int,
    spec: InputSpec,
    generator: torch.Generator | None = None,
) -> list[Tensor]:
    """The model inputs (1-D float32 tensors) for one clip, in time order.

    ``audio`` is ``[C, T]`` (or ``[T]``) at ``sample_rate``. One input for every
    crop mode except ``windows``, which yields ``1 + ceil(max(0, T - length) / hop)``.
    """
    x = downmix(audio, spec.channels)
    x = resample(x, int(sample_rate), spec.sample_rate)
    total = x.shape[-1]
    if total == 0:
        raise ValueError("expected a clip with at least one sample after resampling, got 0")
    length = spec.length
    if length is None:
        return [x]
    pad = spec.pad or DEFAULT_PAD  # set whenever a length is (InputSpec fills it)
    if spec.crop == "windows":
        return [fit(x[s : s + length], length, pad) for s in window_starts(total, length, spec.window_hop)]
    if total <= length:
        return [fit(x, length, pad)]
    if spec.crop == "first":
        start = 0
    elif spec.crop == "center":
        start = (total - length) // 2
    else:
        if generator is None:
            raise ValueError("`input.crop: random` needs a generator per clip")
        start = int(torch.randint(0, total - length + 1, (1,), generator=generator))
    return [x[start : start + length]]
