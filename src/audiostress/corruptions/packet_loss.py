"""Zero-filled packet loss: random frames of the valid signal are dropped."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import Corruption
from .params import Param, SeverityTable
from .registry import register


def loss_mask(
    generators: list[torch.Generator],
    lengths: Tensor,
    total: int,
    frame_lens: list[int],
    loss_rates: list[float],
) -> Tensor:
    """``[B, 1, T]`` float mask, 0 on dropped frames and 1 elsewhere (CPU).

    Item ``i`` has ``ceil(lengths[i] / frame_lens[i])`` frames (the last one may be
    short) and draws one uniform per frame from ``generators[i]``; a frame is
    lost when its uniform is below ``loss_rates[i]``. Nothing depends on the
    padded length or the batch, and for one seed a higher rate loses a superset
    of the frames a lower rate loses.
    """
    mask = torch.ones(len(generators), 1, total, dtype=torch.float32)
    for i, gen in enumerate(generators):
        n, frame_len = int(lengths[i]), frame_lens[i]
        frames = math.ceil(n / frame_len)
        if frames == 0:
            continue
        lost = torch.rand(frames, generator=gen, dtype=torch.float64) < loss_rates[i]
        keep = (~lost).to(torch.float32).repeat_interleave(frame_len)[:n]
        mask[i, 0, :n] = keep
    return mask


@register
class PacketLoss(Corruption):
    """Drop each ``frame_ms`` frame with probability ``loss_rate`` and fill it with zeros.

    Frames tile the item's valid samples from sample 0; losses are independent
    per frame (Bernoulli), and all channels lose the same frames (one packet
    carries every channel). No concealment is applied: the gaps are silence.
    """

    name = "packet_loss"
    family = "modification"
    description = "Random loss of `frame_ms` frames with probability `loss_rate`, zero-filled (no concealment)."
    stochastic = True
    params = (
        Param("loss_rate", 0.05, float, low=0.0, high=1.0, unit="fraction", help="probability a frame is lost"),
        Param("frame_ms", 20.0, float, low=1.0, high=1000.0, unit="ms", help="packet (frame) duration"),
    )
    # No single published anchor. 20 ms is the common VoIP packet (G.711/RTP and Opus
    # defaults). ITU-T G.107's E-model rates impairment by packet-loss percentage; around
    # 1 % is usual for a good network, 3-5 % clearly audible without concealment, and
    # 10-20 % a congested or wireless link.
    levels = SeverityTable(
        "audiostress",
        "audiostress default: 1, 3, 5, 10, 20 % loss of 20 ms frames (VoIP packetisation)",
        ({"loss_rate": 0.01}, {"loss_rate": 0.03}, {"loss_rate": 0.05}, {"loss_rate": 0.10},
         {"loss_rate": 0.20}),
    )

    def transform(self, audio, sample_rate, params, generators, lengths):  # type: ignore[override]
        frame_lens = [max(1, round(float(ms) * sample_rate / 1000.0)) for ms in params["frame_ms"]]
        rates = [float(r) for r in params["loss_rate"]]
        mask = loss_mask(generators, lengths, audio.shape[-1], frame_lens, rates)
        return audio * mask.to(device=audio.device, dtype=audio.dtype)
