"""Property-based checks (hypothesis) of invariants that must hold for any input, not just the fixtures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from audiostress.corruptions import available, create, get
from audiostress.measure import snr_db
from audiostress.metrics import compute_eer
from audiostress.seeding import make_generator

SETTINGS = settings(max_examples=40, deadline=None)
#: SNR is set by an exact power ratio over the valid samples; float32 output rounding leaves ~1e-4 dB.
SNR_TOL_DB = 0.01


@SETTINGS
@given(
    snr=st.floats(min_value=-10.0, max_value=60.0),
    n=st.integers(min_value=32, max_value=4000),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_gaussian_noise_hits_any_snr_at_any_length(snr, n, seed):
    x = torch.randn(1, 1, n, generator=make_generator(seed)) * 0.3
    y = create("gaussian_noise", params={"snr_db": snr}).apply(x, 16000, generator=[make_generator(seed + 1)])
    assert abs(float(snr_db(x, y)[0]) - snr) < SNR_TOL_DB


@SETTINGS
@given(valid=st.integers(min_value=1, max_value=999), seed=st.integers(min_value=0, max_value=2**31))
def test_noise_on_a_padded_item_equals_the_unpadded_clip(valid, seed):
    """Padding a clip inside a longer batch changes nothing in its valid part."""
    clip = torch.randn(1, 1, valid, generator=make_generator(seed))
    padded = torch.nn.functional.pad(clip, (0, 1000 - valid))
    node = create("gaussian_noise", severity=4)
    alone = node.apply(clip, 16000, generator=[make_generator(7)])
    inside = node.apply(padded, 16000, generator=[make_generator(7)], lengths=torch.tensor([valid]))
    assert torch.equal(inside[..., :valid], alone)
    assert torch.count_nonzero(inside[..., valid:]) == 0


@SETTINGS
@given(name=st.sampled_from([n for n in available() if n != "clean"]), bad=st.integers().filter(lambda v: not 0 <= v <= 5))
def test_every_corruption_rejects_any_out_of_range_severity(name, bad):
    with pytest.raises(ValueError, match=rf"severity in 0\.\.5 for {name}, got {bad}"):
        create(name, severity=bad)


@SETTINGS
@given(
    # Scores on a 1/8 grid: heavy ties, and any monotone map below keeps distinct values distinct.
    scores=st.lists(st.integers(-40, 40).map(lambda k: k / 8.0), min_size=4, max_size=60),
    data=st.data(),
)
def test_eer_invariant_under_monotone_maps_and_label_swap(scores, data):
    labels = data.draw(st.lists(st.integers(0, 1), min_size=len(scores), max_size=len(scores)))
    if len(set(labels)) < 2:
        labels[0], labels[-1] = 0, 1
    s, y = np.asarray(scores), np.asarray(labels)
    eer, _ = compute_eer(s, y)
    assert 0.0 <= eer <= 1.0
    # A strictly increasing map keeps every operating point, so the EER is unchanged.
    assert compute_eer(np.exp(s / 3.0) * 7.0 - 2.0, y)[0] == pytest.approx(eer, abs=1e-12)
    # Calling the other class positive with negated scores mirrors the DET curve: same EER up to the tie rule.
    mirrored, _ = compute_eer(-s, 1 - y)
    assert mirrored == pytest.approx(eer, abs=1.0 / min(int(y.sum()), int((1 - y).sum())) + 1e-12)


@SETTINGS
@given(name=st.sampled_from(["gain", "gaussian_noise", "echo", "quantization", "smooth", "packet_loss"]), data=st.data())
def test_sampled_parameters_stay_in_declared_ranges_and_round_trip(name, data):
    """Any value inside a parameter's declared range is accepted and serialises unchanged."""
    cls = get(name)
    numeric = [p for p in cls.params if p.kind in (int, float) and p.low is not None and p.high is not None and p.choices is None]
    p = data.draw(st.sampled_from(numeric))
    value = data.draw(st.integers(int(p.low), int(p.high)) if p.kind is int else st.floats(p.low, p.high))
    params = {p.name: value}
    node = create(name, params=params)
    assert node.to_dict()["params"][p.name] == params[p.name]
