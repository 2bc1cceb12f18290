"""clipping: the share of clipped samples is 100 - percentile; thresholds match numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _modification_helpers import assert_padding_independent, gens

from audiostress.corruptions import from_dict
from audiostress.corruptions.clipping import Clipping
from audiostress.synth import speech_like

SR = 16000
#: The clip level interpolates between two order statistics, so the clipped count can be
#: off by one sample (plus ties); 0.05 % of a 4 s clip is about 30 samples.
SHARE_TOL = 5e-4


@pytest.mark.parametrize("percentile", [99.9, 99.0, 95.0, 90.0, 80.0])
def test_clipped_share_equals_100_minus_percentile(speech_4s, percentile):
    y = Clipping(percentile=percentile).apply(speech_4s, SR, generator=gens(0))
    share = float((y != speech_4s).double().mean())
    assert abs(share - (100 - percentile) / 100) <= SHARE_TOL, share
    ref = np.percentile(speech_4s.abs().double().numpy(), percentile)
    assert float(y.abs().max()) == pytest.approx(ref, abs=1e-7)


def test_stereo_uses_one_level_over_both_channels():
    x = torch.stack([speech_like(1.0, SR, seed=1)[0], 0.3 * speech_like(1.0, SR, seed=2)[0]])
    y = Clipping(percentile=90.0).apply(x, SR, generator=gens(0))
    ref = np.percentile(x.abs().double().numpy().reshape(-1), 90.0)
    assert float(y[0].abs().max()) == pytest.approx(ref, abs=1e-7)
    assert float((y != x).double().mean()) == pytest.approx(0.10, abs=SHARE_TOL)


def test_percentile_over_valid_samples_only():
    # Counting the zero padding would lower the level; the item must match itself alone.
    assert_padding_independent(Clipping(percentile=95.0), speech_like(0.25, SR, seed=5), SR, SR)


def test_absolute_threshold():
    x = speech_like(1.0, SR, seed=3)
    y = Clipping(threshold=0.2).apply(x, SR, generator=gens(0))
    torch.testing.assert_close(y, x.clamp(-0.2, 0.2), atol=0, rtol=0)
    node = Clipping(threshold=0.2)
    assert from_dict(node.to_dict()).to_dict() == node.to_dict()


def test_silence_stays_silent():
    assert torch.count_nonzero(Clipping(percentile=80.0).apply(torch.zeros(1, 800), SR, generator=gens(0))) == 0


def test_exactly_one_mode():
    both = "exactly one of `percentile` or `threshold` for clipping, got percentile, threshold"
    with pytest.raises(ValueError, match=both):
        Clipping(percentile=99.0, threshold=0.5)
    with pytest.raises(ValueError, match="exactly one of `percentile` or `threshold` for clipping, got neither"):
        Clipping(percentile=None)
    with pytest.raises(ValueError, match=r"Expected `percentile` in 0\.\.100 or null for clipping, got 101"):
        Clipping(percentile=101)
