"""Measurement helpers shared by the signal-modification corruption tests."""

from __future__ import annotations

import torch

from audiostress.corruptions import Node
from audiostress.seeding import make_generator

#: Float32 rounding noise allowed between a padded batch item and the clip run alone.
PAD_ATOL = 1e-5


def gens(*seeds: int) -> list[torch.Generator]:
    return [make_generator(s) for s in seeds]


def assert_padding_independent(node: Node, clip: torch.Tensor, total: int, sample_rate: int) -> None:
    """A ``[C, n]`` clip zero-padded to ``total`` inside a batch gives the same ``n`` samples
    (and zeros after) as the clip run alone, with the same per-item seed."""
    c, n = clip.shape
    other = torch.randn(c, total, generator=torch.Generator().manual_seed(99)) * 0.3
    batch = torch.zeros(2, c, total)
    batch[0] = other
    batch[1, :, :n] = clip
    lengths = torch.tensor([total, n])
    out = node.apply(batch, sample_rate, generator=gens(5, 6), lengths=lengths)
    alone = node.apply(clip.unsqueeze(0), sample_rate, generator=gens(6))
    torch.testing.assert_close(out[1:2, :, :n], alone, atol=PAD_ATOL, rtol=0)
    assert torch.count_nonzero(out[1, :, n:]) == 0


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
