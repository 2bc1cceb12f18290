"""Room reverberation: a synthetic exponentially decaying RIR (``rt60_s``) or user RIR files."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .._batch import valid_mask
from ._folder_audio import load_at, pick_file
from ._mixing import POWER_FLOOR, valid_power
from .base import Corruption
from .params import Param, SeverityTable
from .registry import register

#: Amplitude decay of 60 dB over ``rt60_s``: ``envelope = exp(-DECAY_60DB * t / rt60_s)``.
DECAY_60DB = 3.0 * math.log(10.0)


def synthetic_rir(
    rt60_s: float, drr_db: float, sample_rate: int, channels: int, generator: torch.Generator
) -> Tensor:
    """A ``[channels, L]`` float64 RIR: unit direct path at lag 0, then a decaying noise tail.

    The tail is Gaussian noise from ``generator`` under an envelope that falls
    60 dB in ``rt60_s`` (``L = ceil(rt60_s * sample_rate) + 1``, where it has
    decayed by 60 dB), scaled per channel so that direct-path energy over tail
    energy is ``drr_db``. Each channel gets its own tail (a diffuse field).
    """
    length = max(2, int(math.ceil(rt60_s * sample_rate)) + 1)
    t = torch.arange(1, length, dtype=torch.float64) / sample_rate
    tail = torch.randn(channels, length - 1, generator=generator, dtype=torch.float64)
    tail = tail * torch.exp(-DECAY_60DB * t / rt60_s)
    energy = tail.pow(2).sum(dim=-1, keepdim=True).clamp_min(POWER_FLOOR)
    tail = tail * torch.sqrt(10.0 ** (-drr_db / 10.0) / energy)
    return torch.cat([torch.ones(channels, 1, dtype=torch.float64), tail], dim=-1)


def file_rir(path: str, sample_rate: int, channels: int) -> Tensor:
    """A recorded RIR at ``sample_rate``, cut to start at its peak (the direct path) so output stays aligned.

    A file whose channel count differs from the clip's contributes its first channel to every channel.
    """
    rir = load_at(path, sample_rate).to(torch.float64)
    start = int(rir.abs().amax(dim=0).argmax())
    rir = rir[:, start:]
    if rir.shape[0] != channels:
        rir = rir[:1].expand(channels, -1)
    return rir


@register
class Reverb(Corruption):
    """Convolve with a room impulse response, keep the input length and level.

    The RIR is synthetic (``rt60_s``, ``drr_db``; see ``synthetic_rir``) or, when
    ``rir_dir`` is given, a file from that folder chosen by the item's
    generator (``rt60_s`` and ``drr_db`` are then unused). The direct path sits
    at lag 0, so the output is time-aligned with the input. Convolution is done
    with an FFT long enough for the full linear convolution, then cropped to
    ``T``. Level matching: each item is scaled so that its mean power over the
    valid samples equals the input's.
    """

    name = "reverb"
    family = "filter"
    description = "Room reverb: synthetic exp-decay RIR (rt60_s, drr_db) or RIR files from rir_dir; level-matched."
    stochastic = True
    params = (
        Param("rt60_s", 0.5, float, low=0.01, high=10.0, unit="s", help="reverberation time (60 dB decay)"),
        Param("drr_db", 0.0, float, low=-30.0, high=40.0, unit="dB", help="direct-to-reverberant energy ratio"),
        Param("rir_dir", None, str, help="folder of RIR files; replaces the synthetic RIR", optional=True),
    )
    # No published anchor. Rooms from a dry booth to a large hall: RT60 grows while the
    # talker moves away from the microphone (falling direct-to-reverberant ratio).
    levels = SeverityTable(
        "rooms",
        "audiostress: small room 0.2 s / +10 dB DRR, office 0.4 s / +6 dB, classroom 0.6 s / +3 dB, "
        "hall 0.9 s / 0 dB, large hall 1.5 s / -3 dB (typical RT60s; no published anchor)",
        (
            {"rt60_s": 0.2, "drr_db": 10.0},
            {"rt60_s": 0.4, "drr_db": 6.0},
            {"rt60_s": 0.6, "drr_db": 3.0},
            {"rt60_s": 0.9, "drr_db": 0.0},
            {"rt60_s": 1.5, "drr_db": -3.0},
        ),
    )

    def transform(self, audio, sample_rate, params, generators, lengths):  # type: ignore[override]
        b, c, t = audio.shape
        rirs = []
        listings: dict[str, list[str]] = {}
        for i, g in enumerate(generators):
            folder = params["rir_dir"][i]
            if folder is None:
                rirs.append(synthetic_rir(params["rt60_s"][i], params["drr_db"][i], sample_rate, c, g))
            else:
                rirs.append(file_rir(pick_file(self.name, "rir_dir", folder, g, listings), sample_rate, c))
        longest = max(r.shape[-1] for r in rirs)
        h = torch.zeros(b, c, longest, dtype=torch.float32)
        for i, r in enumerate(rirs):
            h[i, :, : r.shape[-1]] = r
        h = h.to(audio.device)
        x = (audio * valid_mask(lengths, t, audio.device)).to(torch.float32)
        n_fft = 1 << (t + longest - 2).bit_length()
        wet = torch.fft.irfft(torch.fft.rfft(x, n=n_fft) * torch.fft.rfft(h, n=n_fft), n=n_fft)[..., :t]
        p_in, p_out = valid_power(x, lengths), valid_power(wet, lengths)
        scale = torch.where(p_out > POWER_FLOOR, torch.sqrt(p_in / p_out.clamp_min(POWER_FLOOR)), torch.zeros_like(p_out))
        return (wet.to(torch.float64) * scale.view(-1, 1, 1)).to(audio.dtype)
