"""packet_loss: share of lost frames matches loss_rate; frames are seeded, whole and aligned."""

from __future__ import annotations

import math

import pytest
import torch
from _modification_helpers import assert_padding_independent, gens

from audiostress.corruptions.packet_loss import PacketLoss
from audiostress.synth import speech_like

SR = 16000
FRAME = SR * 20 // 1000  # 20 ms frames
#: Binomial tolerance: the lost count of N independent frames has sd sqrt(N p (1-p));
#: 4 sd is exceeded with probability ~6e-5 (and the seeds are fixed anyway).
BINOMIAL_SIGMAS = 4.0


def _lost_frames(y: torch.Tensor, frame: int) -> torch.Tensor:
    """Boolean per frame: True where the whole frame is zero (input must be non-zero)."""
    n = y.shape[-1] // frame * frame
    return (y[..., :n].reshape(-1, frame) == 0).all(dim=-1)


@pytest.mark.parametrize("loss_rate", [0.01, 0.05, 0.2])
def test_lost_share_matches_rate_within_binomial_tolerance(loss_rate):
    x = torch.full((1, 60 * SR), 0.5)  # 60 s: 3000 frames, non-zero everywhere
    y = PacketLoss(loss_rate=loss_rate).apply(x, SR, generator=gens(3))
    lost = _lost_frames(y, FRAME)
    frames = lost.numel()
    sd = math.sqrt(frames * loss_rate * (1 - loss_rate))
    assert abs(int(lost.sum()) - frames * loss_rate) <= BINOMIAL_SIGMAS * sd, int(lost.sum())
    # Frames are lost whole: every sample is either zeroed or untouched.
    kept_y = y[0, : frames * FRAME].reshape(frames, FRAME)[~lost]
    kept_x = x[0, : frames * FRAME].reshape(frames, FRAME)[~lost]
    assert torch.equal(kept_y, kept_x)


def test_same_seed_same_frames_other_seed_other_frames():
    x = speech_like(2.0, SR, seed=1) + 0.01  # offset: no sample is exactly zero
    node = PacketLoss(loss_rate=0.2)
    a = _lost_frames(node.apply(x, SR, generator=gens(7)), FRAME)
    b = _lost_frames(node.apply(x, SR, generator=gens(7)), FRAME)
    c = _lost_frames(node.apply(x, SR, generator=gens(8)), FRAME)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_higher_rate_loses_a_superset_for_one_seed():
    x = torch.full((1, 10 * SR), 0.5)
    mild = _lost_frames(PacketLoss(loss_rate=0.05).apply(x, SR, generator=gens(4)), FRAME)
    harsh = _lost_frames(PacketLoss(loss_rate=0.2).apply(x, SR, generator=gens(4)), FRAME)
    assert bool((harsh | ~mild).all()) and int(harsh.sum()) > int(mild.sum())


def test_channels_lose_the_same_frames():
    x = torch.full((2, 4 * SR), 0.5)
    y = PacketLoss(loss_rate=0.3).apply(x, SR, generator=gens(2))
    assert torch.equal(y[0] == 0, y[1] == 0) and bool((y == 0).any())


def test_frames_follow_valid_length_not_padding():
    assert_padding_independent(PacketLoss(loss_rate=0.3), speech_like(0.5, SR, seed=2), SR, SR)


def test_partial_last_frame_and_extremes():
    x = torch.full((1, 1000), 0.5)  # 3 whole 20 ms frames and a partial one
    assert torch.count_nonzero(PacketLoss(loss_rate=1.0).apply(x, SR, generator=gens(0))) == 0
    assert torch.equal(PacketLoss(loss_rate=0.0).apply(x, SR, generator=gens(0)), x)


def test_frame_ms_sets_the_frame_length():
    x = torch.full((1, 20 * SR), 0.5)
    y = PacketLoss(loss_rate=0.5, frame_ms=50.0).apply(x, SR, generator=gens(5))
    zero = (y[0] == 0).to(torch.int8)
    edges = torch.nonzero(zero[1:] != zero[:-1]).reshape(-1) + 1
    frame = SR * 50 // 1000
    assert edges.numel() > 10 and bool((edges % frame == 0).all())


def test_bad_loss_rate_names_parameter_and_range():
    with pytest.raises(ValueError, match=r"Expected `loss_rate` in 0\.\.1 for packet_loss, got 1\.5"):
        PacketLoss(loss_rate=1.5)
