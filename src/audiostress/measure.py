"""Measured strength of a corruption: SNR and log-spectral distance against the clean clip.

Both functions take ``[C, T]`` or ``[B, C, T]`` tensors and return one value per
item, computed over the valid samples (``lengths``) only.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._batch import as_batch, normalise_lengths, valid_mask

#: Returned when the corrupted clip equals the clean one (no error at all).
IDENTICAL_SNR_DB = math.inf


def snr_db(clean: Tensor, corrupted: Tensor, lengths: Tensor | None = None) -> Tensor:
    """``10 log10(P_clean / P_error)`` per item, ``error = corrupted - clean`` (float64 ``[B]``).

    A silent clean clip with a non-zero error gives ``-inf``; identical clips give ``+inf``.
    """
    x, single = as_batch(clean, "snr_db")
    y, _ = as_batch(corrupted, "snr_db")
    if x.shape != y.shape:
        raise ValueError(f"snr_db: shapes differ, {tuple(x.shape)} vs {tuple(y.shape)}")
    lens = normalise_lengths(lengths, x, "snr_db")
    mask = valid_mask(lens, x.shape[-1], x.device)
    x64 = x.to(torch.float64) * mask
    e64 = (y.to(torch.float64) - x.to(torch.float64)) * mask
    p_sig = x64.pow(2).sum(dim=(1, 2))
    p_err = e64.pow(2).sum(dim=(1, 2))
    out = torch.empty_like(p_sig)
    for i in range(out.numel()):
        if p_err[i] == 0:
            out[i] = IDENTICAL_SNR_DB
        elif p_sig[i] <= 0:
            out[i] = -math.inf
        else:
            out[i] = 10.0 * torch.log10(p_sig[i] / p_err[i])
    return out[0:1] if single else out


def log_spectral_distance(
    clean: Tensor,
    corrupted: Tensor,
    lengths: Tensor | None = None,
    *,
    n_fft: int = 512,
    hop: int = 128,
) -> Tensor:
    """Root-mean-square difference of log power spectra in dB, per item (float64 ``[B]``).

    ``LSD = mean_frames sqrt(mean_bins (10 log10 P_clean - 10 log10 P_corrupted)^2)``,
    with a floor of -100 dB so silence does not produce infinities.
    """
    x, single = as_batch(clean, "log_spectral_distance")
    y, _ = as_batch(corrupted, "log_spectral_distance")
    if x.shape != y.shape:
        raise ValueError(f"log_spectral_distance: shapes differ, {tuple(x.shape)} vs {tuple(y.shape)}")
    lens = normalise_lengths(lengths, x, "log_spectral_distance")
    window = torch.hann_window(n_fft, dtype=torch.float64, device=x.device)
    out = torch.zeros(x.shape[0], dtype=torch.float64)
    for i in range(x.shape[0]):
        n = int(lens[i])
        if n == 0:
            continue
        a = x[i, :, :n].to(torch.float64)
        b = y[i, :, :n].to(torch.float64)
        if n < n_fft:
            a = torch.nn.functional.pad(a, (0, n_fft - n))
            b = torch.nn.functional.pad(b, (0, n_fft - n))
        sa = torch.stft(a, n_fft, hop, window=window, return_complex=True, center=False).abs().pow(2)
        sb = torch.stft(b, n_fft, hop, window=window, return_complex=True, center=False).abs().pow(2)
        la = 10 * torch.log10(sa.clamp_min(1e-10))
        lb = 10 * torch.log10(sb.clamp_min(1e-10))
        per_frame = (la - lb).pow(2).mean(dim=-2).sqrt()  # [C, frames]
        out[i] = per_frame.mean()
    return out[0:1] if single else out


def xcorr_lag(reference: Tensor, other: Tensor, max_lag: int) -> int:
    """The lag (in samples) maximising the cross-correlation of two mono 1-D signals.

    Positive means ``other`` is delayed relative to ``reference``.
    """
    a = reference.to(torch.float64).reshape(-1)
    b = other.to(torch.float64).reshape(-1)
    n = a.numel() + b.numel()
    size = 1 << (n - 1).bit_length()
    spec = torch.fft.rfft(b, size) * torch.conj(torch.fft.rfft(a, size))
    cc = torch.fft.irfft(spec, size)
    lags = torch.cat([cc[: max_lag + 1], cc[-max_lag:]]) if max_lag > 0 else cc[:1]
    idx = int(torch.argmax(lags))
    return idx if idx <= max_lag else idx - (2 * max_lag + 1)
