"""Validation and reshaping helpers for the ``[B, C, T]`` audio convention."""

from __future__ import annotations

import torch
from torch import Tensor


def as_batch(audio: Tensor, who: str) -> tuple[Tensor, bool]:
    """Return ``audio`` as ``[B, C, T]`` and whether it was a single ``[C, T]`` clip."""
    if not isinstance(audio, Tensor):
        raise TypeError(f"{who}: expected a torch.Tensor, got {type(audio).__name__}")
    if not audio.is_floating_point():
        raise TypeError(f"{who}: expected floating-point audio, got dtype {audio.dtype}")
    if audio.dim() == 2:
        return audio.unsqueeze(0), True
    if audio.dim() == 3:
        return audio, False
    raise ValueError(
        f"{who}: expected audio shaped [C, T] or [B, C, T], got {tuple(audio.shape)}"
    )


def check_sample_rate(sample_rate: int, who: str) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ValueError(f"{who}: expected a positive integer `sample_rate`, got {sample_rate!r}")
    return sample_rate


def normalise_lengths(lengths: Tensor | None, batch: Tensor, who: str) -> Tensor:
    """Valid-sample counts as a CPU LongTensor[B]; defaults to the full length."""
    b, _, t = batch.shape
    if lengths is None:
        return torch.full((b,), t, dtype=torch.long)
    lengths = torch.as_tensor(lengths, dtype=torch.long).reshape(-1).cpu()
    if lengths.numel() != b:
        raise ValueError(f"{who}: expected `lengths` with {b} entries, got {lengths.numel()}")
    if bool((lengths < 0).any()) or bool((lengths > t).any()):
        raise ValueError(f"{who}: `lengths` must lie in 0..{t}, got {lengths.tolist()}")
    return lengths


def valid_mask(lengths: Tensor, t: int, device: torch.device) -> Tensor:
    """Boolean ``[B, 1, T]`` mask of the valid (non-padding) samples."""
    idx = torch.arange(t, device=device)
    return (idx.unsqueeze(0) < lengths.to(device).unsqueeze(1)).unsqueeze(1)
