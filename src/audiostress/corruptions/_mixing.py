"""Mixing a noise signal into audio at a per-item target SNR over the valid samples."""

from __future__ import annotations

import torch
from torch import Tensor

from .._batch import valid_mask
from .params import Param

#: The one `snr_db` declaration every noise corruption shares (same range, unit and help).
SNR_DB_PARAM = Param("snr_db", 20.0, float, low=-20.0, high=120.0, unit="dB", help="signal-to-noise ratio")
#: Li, Chen & Wei 2025 / AudioMarkBench noise SNR ladder (ANCHORS.md), mildest first.
LI2025_SNR_LEVELS = tuple({"snr_db": s} for s in (40.0, 30.0, 20.0, 10.0, 5.0))

#: Power floor that keeps silent inputs and silent noise free of NaN/Inf.
POWER_FLOOR = 1e-20


def valid_power(x: Tensor, lengths: Tensor) -> Tensor:
    """Mean power per item over channels and valid samples: ``[B]`` (float64)."""
    mask = valid_mask(lengths, x.shape[-1], x.device)
    x64 = x.to(torch.float64) * mask
    count = (lengths.to(x.device).to(torch.float64) * x.shape[1]).clamp_min(1.0)
    return x64.pow(2).sum(dim=(1, 2)) / count


def mix_at_snr(audio: Tensor, noise: Tensor, snr_db: list[float], lengths: Tensor) -> Tensor:
    """Return ``audio + g * noise`` with ``g`` set so each item's SNR equals ``snr_db[i]``.

    Both powers are measured over the item's valid samples only, so padding
    never dilutes the measurement. A silent clip or silent noise gets no noise.
    """
    p_sig = valid_power(audio, lengths)
    p_noise = valid_power(noise, lengths)
    snr = torch.tensor(snr_db, dtype=torch.float64, device=audio.device)
    target = p_sig / torch.pow(10.0, snr / 10.0)
    gain = torch.where(
        p_noise > POWER_FLOOR, torch.sqrt(target / p_noise.clamp_min(POWER_FLOOR)), torch.zeros_like(p_noise)
    )
    mixed = audio.to(torch.float64) + gain.view(-1, 1, 1) * noise.to(torch.float64)
    return mixed.to(audio.dtype)


def per_item_noise(
    generators: list[torch.Generator], channels: int, lengths: Tensor, total: int, device: torch.device
) -> Tensor:
    """White Gaussian noise ``[B, C, T]`` drawn per item over its valid length only.

    Drawing exactly ``[C, length_i]`` from item ``i``'s generator makes the noise
    independent of the batch it sits in and of the padded length.
    """
    out = torch.zeros(len(generators), channels, total, dtype=torch.float32)
    for i, g in enumerate(generators):
        n = int(lengths[i])
        if n:
            out[i, :, :n] = torch.randn(channels, n, generator=g, dtype=torch.float32)
    return out.to(device)
