"""Phase-vocoder time scaling shared by ``time_stretch`` and ``pitch_shift``.

The STFT is taken with explicit zero padding (never reflect padding) and the
inverse is a plain weighted overlap-add, so an item's output depends only on its
own samples: trailing zeros (batch padding) stay zeros and change nothing before
them. Everything runs in float64 on the input's device; the phase accumulation
of the vocoder is chaotic in near-silent bins, and float64 keeps batched,
single-item and CUDA runs within float32 rounding of each other.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: Analysis window length in seconds (32 ms: the usual speech phase-vocoder frame).
FRAME_S = 0.032
#: Hop as a fraction of the frame (75 % overlap, Hann window).
HOP_FRACTION = 4
#: Overlap-add envelope below this is treated as "no frame covers this sample".
ENVELOPE_FLOOR = 1e-6


def frame_sizes(sample_rate: int) -> tuple[int, int]:
    """``(n_fft, hop)`` for ``sample_rate``: a power-of-two frame near 32 ms, hop = frame / 4."""
    n_fft = max(16, 1 << round(math.log2(FRAME_S * sample_rate)))
    return n_fft, n_fft // HOP_FRACTION


def time_scale(audio: Tensor, sample_rate: int, rate: float, out_len: int) -> Tensor:
    """Phase-vocoder time scaling of ``audio[..., T]`` to ``[..., out_len]`` (float64).

    Output sample ``j`` holds the content of input time ``j * rate`` (``rate > 1``
    speeds up, ``rate < 1`` slows down); time 0 stays at sample 0, and samples past
    the stretched content are zero. Works for any ``T >= 0`` (inputs shorter than one
    frame are zero-padded internally and cropped back).
    """
    lead = audio.shape[:-1]
    t = audio.shape[-1]
    if out_len <= 0 or t == 0 or audio.numel() == 0:
        return torch.zeros(*lead, max(out_len, 0), dtype=torch.float64, device=audio.device)
    x = audio.reshape(-1, t).to(torch.float64)
    n_fft, hop = frame_sizes(sample_rate)
    half = n_fft // 2
    # Frame k is centred on input sample k * hop; keep every frame that overlaps a sample,
    # so trailing zeros (batch padding) only ever add all-zero frames.
    frames = -(-(t + half) // hop)
    right = (frames - 1) * hop + n_fft - half - t
    x = torch.nn.functional.pad(x, (half, right))
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64, device=x.device)
    spec = torch.stft(x, n_fft, hop, window=window, center=False, return_complex=True)
    if rate != 1.0:
        spec = phase_locked_vocoder(spec, rate, hop, n_fft)
    y = _overlap_add(spec, window, hop)
    y = y[:, half : half + out_len]
    if y.shape[-1] < out_len:
        y = torch.nn.functional.pad(y, (0, out_len - y.shape[-1]))
    return y.reshape(*lead, out_len)


def phase_locked_vocoder(spec: Tensor, rate: float, hop: int, n_fft: int) -> Tensor:
    """Time-scale a complex STFT ``[N, F, K]`` by ``rate`` with identity phase locking.

    Output frame ``s`` reads analysis time ``s * rate``: magnitudes are interpolated
    between the two neighbouring frames, and each spectral peak advances its phase
    by its instantaneous frequency (the classic phase vocoder) while the bins around
    it keep their analysis phase offset to the peak (Laroche & Dolson's identity
    phase locking). Locking keeps a partial's main lobe coherent, which avoids the
    "phasiness" and level loss of the plain vocoder after pauses and onsets.
    """
    n, bins, frames = spec.shape
    device = spec.device
    steps = torch.arange(0, frames, rate, dtype=torch.float64, device=device)
    index = steps.floor().long()
    frac = (steps - index).view(1, 1, -1)
    padded = torch.nn.functional.pad(spec, (0, 2))
    x0 = padded.index_select(-1, index)
    x1 = padded.index_select(-1, index + 1)
    mag = (1 - frac) * x0.abs() + frac * x1.abs()
    angle0 = x0.angle()
    # Expected phase advance per hop at each bin's centre frequency, and the deviation from it.
    advance = (2 * math.pi * hop / n_fft) * torch.arange(bins, dtype=torch.float64, device=device)
    advance = advance.view(1, -1, 1)
    deviation = x1.angle() - angle0 - advance
    increment = advance + deviation - 2 * math.pi * torch.round(deviation / (2 * math.pi))
    region = _nearest_peak(mag)
    offset = angle0 - angle0.gather(1, region)
    phase = torch.empty_like(mag)
    current = angle0[..., 0]
    phase[..., 0] = current
    for s in range(1, steps.numel()):
        current = (current + increment[..., s - 1]).gather(1, region[..., s]) + offset[..., s]
        phase[..., s] = current
    return torch.polar(mag, phase)


def _nearest_peak(mag: Tensor) -> Tensor:
    """For every bin of ``mag[N, F, S]``, the index of the nearest local magnitude peak.

    A frame with no peak (e.g. digital silence) maps every bin to itself.
    """
    bins = mag.shape[1]
    lower = torch.nn.functional.pad(mag[:, :-1], (0, 0, 1, 0), value=-1.0)
    upper = torch.nn.functional.pad(mag[:, 1:], (0, 0, 0, 1), value=-1.0)
    peak = (mag > lower) & (mag >= upper)
    k = torch.arange(bins, device=mag.device).view(1, -1, 1).expand_as(mag)
    before = torch.where(peak, k, torch.full_like(k, -1)).cummax(dim=1).values
    after = torch.where(peak, k, torch.full_like(k, bins)).flip(1).cummin(dim=1).values.flip(1)
    has_before, has_after = before >= 0, after < bins
    take_after = has_after & (~has_before | ((after - k) < (k - before)))
    nearest = torch.where(take_after, after, before)
    return torch.where(has_before | has_after, nearest, k)


def _overlap_add(spec: Tensor, window: Tensor, hop: int) -> Tensor:
    """Inverse STFT by windowed overlap-add, normalised by the summed squared window."""
    n_fft = window.numel()
    n_frames = spec.shape[-1]
    total = (n_frames - 1) * hop + n_fft
    frames = torch.fft.irfft(spec, n=n_fft, dim=-2) * window[:, None]  # [N, n_fft, K]
    fold = dict(output_size=(1, total), kernel_size=(1, n_fft), stride=(1, hop))
    y = torch.nn.functional.fold(frames, **fold)[:, 0, 0, :]
    # The envelope counts frames past the last one as present (they would only hold
    # zeros), so the normalisation near the end does not depend on how many follow.
    extra = -(-n_fft // hop)
    weights = (window.pow(2)[:, None].expand(n_fft, n_frames + extra)).unsqueeze(0)
    fold_env = dict(fold, output_size=(1, total + extra * hop))
    envelope = torch.nn.functional.fold(weights, **fold_env)[0, 0, 0, :total]
    safe = envelope.clamp_min(ENVELOPE_FLOOR)
    return torch.where(envelope > ENVELOPE_FLOOR, y / safe, torch.zeros_like(y))
