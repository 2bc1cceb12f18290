"""Measurement helpers shared by the signal-modification corruption tests."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from audiostress.corruptions import Node
from audiostress.seeding import make_generator

#: Float32 rounding noise allowed between a padded batch item and the clip run alone.
PAD_ATOL = 1e-5


def gens(*seeds: int) -> list[torch.Generator]:
    return [make_generator(s) for s in seeds]


def assert_padding_independent(
    node: Node,
    clip: torch.Tensor | Sequence[torch.Tensor],
    total: int,
    sample_rate: int,
    atol: float = PAD_ATOL,
) -> None:
    """A ``[C, n]`` clip (or several, of different lengths) zero-padded to ``total`` inside a
    batch after a full-length item gives the same ``n`` samples (and zeros after) as the
    clip run alone, with the same per-item seed (item ``k`` of the batch uses seed ``5 + k``)."""
    clips = [clip] if isinstance(clip, torch.Tensor) else list(clip)
    c = clips[0].shape[0]
    other = torch.randn(c, total, generator=torch.Generator().manual_seed(99)) * 0.3
    batch = torch.zeros(1 + len(clips), c, total)
    batch[0] = other
    for k, item in enumerate(clips, start=1):
        batch[k, :, : item.shape[-1]] = item
    lengths = torch.tensor([total] + [item.shape[-1] for item in clips])
    seeds = [5 + k for k in range(batch.shape[0])]
    out = node.apply(batch, sample_rate, generator=gens(*seeds), lengths=lengths)
    for k, item in enumerate(clips, start=1):
        n = item.shape[-1]
        alone = node.apply(item.unsqueeze(0), sample_rate, generator=gens(seeds[k]))
        torch.testing.assert_close(out[k : k + 1, :, :n], alone, atol=atol, rtol=0)
        assert torch.count_nonzero(out[k, :, n:]) == 0


def dominant_frequency_hz(x: torch.Tensor, sample_rate: int) -> float:
    """Frequency of the strongest spectral peak of a mono signal (Hann window, 8x zero
    padding, parabolic interpolation of the log magnitude: sub-0.1 Hz on a 1 s tone)."""
    sig = x.reshape(-1).to(torch.float64)
    win = torch.hann_window(sig.numel(), periodic=False, dtype=torch.float64)
    n_fft = 8 * sig.numel()
    mag = torch.fft.rfft(sig * win, n=n_fft).abs().clamp_min(1e-30).log()
    k = int(torch.argmax(mag[1:-1])) + 1
    a, b, c = float(mag[k - 1]), float(mag[k]), float(mag[k + 1])
    offset = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    return (k + offset) * sample_rate / n_fft


def envelope(x: torch.Tensor, window: int) -> torch.Tensor:
    """Moving-average magnitude envelope of a mono signal (centred, same length)."""
    sig = x.reshape(1, 1, -1).abs().to(torch.float64)
    kernel = torch.ones(1, 1, window, dtype=torch.float64) / window
    return torch.nn.functional.conv1d(sig, kernel, padding=window // 2)[0, 0, : sig.shape[-1]]


def zero_crossings_per_s(x: torch.Tensor, sample_rate: int) -> float:
    sig = x.reshape(-1)
    signs = torch.sign(sig)
    crossings = int((signs[1:] * signs[:-1] < 0).sum())
    return crossings * sample_rate / max(1, sig.numel())
