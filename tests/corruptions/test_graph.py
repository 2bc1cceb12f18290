"""Graph nodes: composition, per-item decisions, serialisation."""

from __future__ import annotations

import pytest
import torch

from audiostress.corruptions import Chain, Choice, Maybe, OneOf, Uniform, create, from_dict, get
from audiostress.measure import snr_db
from audiostress.seeding import make_generator
from audiostress.synth import speech_like

SR = 16000


def _gens(*seeds):
    return [make_generator(s) for s in seeds]


def _batch(n=6):
    return torch.stack([speech_like(0.5, SR, seed=s) for s in range(n)])


def test_chain_equals_sequential_application():
    x = _batch(2)
    a, b = create("gain", severity=3), create("gaussian_noise", severity=3)
    chained = Chain(a, b).apply(x, SR, generator=_gens(1, 2))
    step = b.apply(a.apply(x, SR, generator=_gens(1, 2)), SR, generator=_gens(1, 2))
    assert torch.equal(chained, step)


def test_one_of_picks_per_item_and_matches_alone():
    x = _batch(6)
    node = OneOf([create("gain", severity=5), create("gaussian_noise", severity=5)], weights=[1, 1])
    seeds = list(range(100, 106))
    y = node.apply(x, SR, generator=_gens(*seeds))
    kinds = set()
    for i, s in enumerate(seeds):
        alone = node.apply(x[i : i + 1], SR, generator=_gens(s))
        assert torch.equal(alone, y[i : i + 1])
        scaled = torch.allclose(y[i], x[i] * 10 ** (-24 / 20), atol=1e-7)
        kinds.add("gain" if scaled else "noise")
    assert kinds == {"noise", "gain"}


def test_one_of_weights_zero_never_picked():
    x = _batch(6)
    node = OneOf([create("gain", severity=5), create("gaussian_noise", severity=5)], weights=[0, 1])
    y = node.apply(x, SR, generator=_gens(*range(6)))
    assert all(abs(float(snr_db(x[i], y[i])[0]) - 5.0) < 0.01 for i in range(6))


def test_maybe_extremes():
    x = _batch(3)
    never = Maybe(0.0, create("gain", severity=5)).apply(x, SR, generator=_gens(1, 2, 3))
    always = Maybe(1.0, create("gain", severity=5)).apply(x, SR, generator=_gens(1, 2, 3))
    assert torch.equal(never, x)
    assert torch.allclose(always, x * 10 ** (-24 / 20), atol=1e-7)
    with pytest.raises(ValueError, match="`p` in 0..1"):
        Maybe(1.5, create("gain", severity=1))


def test_per_item_parameters_drawn_from_generator():
    x = _batch(4)
    node = create("gaussian_noise", params={"snr_db": Uniform(0.0, 30.0)})
    y = node.apply(x, SR, generator=_gens(1, 2, 3, 4))
    snrs = snr_db(x, y)
    assert len({round(float(v), 3) for v in snrs}) == 4
    assert all(0.0 <= float(v) <= 30.0 for v in snrs)
    # The drawn value is exactly what each item received.
    drawn = node.sample(_gens(1, 2, 3, 4))["snr_db"]
    torch.testing.assert_close(snrs, torch.tensor(drawn, dtype=torch.float64), atol=1e-6, rtol=0)


def test_sampled_parameter_makes_an_instance_stochastic():
    fixed = create("gain", params={"gain_db": -6.0})
    sampled = create("gain", params={"gain_db": Uniform(-20.0, 0.0)})
    assert not fixed.stochastic and sampled.stochastic
    assert from_dict(sampled.to_dict()).stochastic
    assert Chain(fixed, sampled).stochastic and not Chain(fixed).stochastic
    x = _batch(2)
    a = sampled.apply(x, SR, generator=_gens(1, 2))
    assert torch.equal(a, sampled.apply(x, SR, generator=_gens(1, 2)))
    assert not torch.equal(a, sampled.apply(x, SR, generator=_gens(3, 4)))  # seeds differ -> outputs differ
    assert create("bit_depth", params={"bits": Choice([6, 8])}).stochastic


def test_choice_parameter_round_trip():
    node = create("gaussian_noise", params={"snr_db": Choice((5.0, 10.0))})
    data = node.to_dict()
    assert data["params"]["snr_db"] == {"choice": [5.0, 10.0]}
    assert from_dict(data) == node


def test_nested_graph_round_trip():
    graph = Chain(
        Maybe(0.5, OneOf([create("gain", severity=1), create("gaussian_noise", params={"snr_db": Uniform(5, 10)})])),
        create("gain", severity=2),
    )
    rebuilt = from_dict(graph.to_dict())
    assert rebuilt.to_dict() == graph.to_dict()
    x = _batch(3)
    assert torch.equal(graph.apply(x, SR, generator=_gens(1, 2, 3)), rebuilt.apply(x, SR, generator=_gens(1, 2, 3)))


def test_single_generator_is_reproducible():
    x = _batch(3)
    node = create("gaussian_noise", severity=3)
    a = node.apply(x, SR, generator=make_generator(9))
    b = node.apply(x, SR, generator=make_generator(9))
    assert torch.equal(a, b)


def test_bad_parameter_messages():
    with pytest.raises(ValueError, match=r"Expected `snr_db` in -20\.\.120 for gaussian_noise, got 500"):
        create("gaussian_noise", params={"snr_db": 500})
    with pytest.raises(ValueError, match="Unknown parameter 'snr' for gaussian_noise"):
        create("gaussian_noise", params={"snr": 5})
    with pytest.raises(ValueError, match="Unknown corruption 'nope'"):
        create("nope", severity=1)
    with pytest.raises(ValueError, match="Unknown severity table 'x' for gaussian_noise"):
        get("gaussian_noise").at(2, table="x")


def test_library_never_touches_global_rng():
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    create("gaussian_noise", severity=3).apply(_batch(2), SR, generator=_gens(1, 2))
    assert torch.equal(before, torch.get_rng_state())
