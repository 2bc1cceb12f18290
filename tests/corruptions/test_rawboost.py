"""RawBoost corruptions: recipe defaults, per-seed determinism, algorithm composition, monotonic strength."""

from __future__ import annotations

import pytest
import torch

from audiostress.corruptions import create, get
from audiostress.corruptions._rawboost_dsp import isd, lnl, peak_limit, ssi
from audiostress.measure import snr_db
from audiostress.seeding import make_generator
from audiostress.synth import speech_like

SR = 16000
X = speech_like(1.0, SR, seed=3).unsqueeze(0)


def _run(node, seed):
    return node.apply(X, SR, generator=[make_generator(seed)])


def test_defaults_are_the_ssl_anti_spoofing_recipe():
    defaults = {p.name: p.default for p in get("rawboost").params}
    assert defaults == {
        "algo": 5, "n_bands": 5, "min_f_hz": 20.0, "max_f_hz": 8000.0, "min_bw_hz": 100.0, "max_bw_hz": 1000.0,
        "min_coeff": 10, "max_coeff": 100, "min_g_db": 0.0, "max_g_db": 0.0, "n_f": 5, "min_bias_db": 5.0,
        "max_bias_db": 20.0, "lnl_mix": 1.0, "isd_max_percent": 10.0, "isd_g_sd": 2.0, "ssi_min_snr_db": 10.0,
        "ssi_max_snr_db": 40.0,
    }


@pytest.mark.parametrize("name", ["rawboost_lnl", "rawboost_isd", "rawboost_ssi", "rawboost"])
def test_draws_are_deterministic_per_seed(name):
    node = create(name)
    a, b, c = _run(node, 1), _run(node, 1), _run(node, 2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.isfinite(a).all() and a.shape == X.shape


@pytest.mark.parametrize("name", ["rawboost_lnl", "rawboost_isd", "rawboost_ssi", "rawboost"])
def test_strength_is_monotonic_over_severity(name):
    values = [float(snr_db(X, create(name, severity=s).apply(X, SR, generator=[make_generator(7)]))[0]) for s in range(1, 6)]
    assert all(hi < lo for lo, hi in zip(values, values[1:])), values


def test_algorithms_compose_as_the_recipe_says():
    params = {p.name: p.default for p in get("rawboost").params}
    x = X[0].double()
    g = make_generator(5)
    series = isd(lnl(x, g, SR, params), g, params)
    assert torch.allclose(_run(create("rawboost", params={"algo": 5}), 5)[0].double(), series, atol=1e-6)
    g = make_generator(5)
    parallel = peak_limit(lnl(x, g, SR, params) + isd(x, g, params))
    assert torch.allclose(_run(create("rawboost", params={"algo": 8}), 5)[0].double(), parallel, atol=1e-6)
    g = make_generator(5)
    assert torch.allclose(_run(create("rawboost", params={"algo": 3}), 5)[0].double(), ssi(x, g, SR, params), atol=1e-6)
    outs = [_run(create("rawboost", params={"algo": a}), 5) for a in range(1, 9)]
    assert len({o.numpy().tobytes() for o in outs}) == 8


def test_ssi_snr_is_the_drawn_one_and_isd_hits_at_most_p_percent():
    y = _run(create("rawboost_ssi", params={"ssi_min_snr_db": 20.0, "ssi_max_snr_db": 20.0}), 4)
    assert float(snr_db(X, y)[0]) == pytest.approx(20.0, abs=1e-3)
    y = _run(create("rawboost_isd", params={"isd_max_percent": 10.0}), 4)
    changed = float((y != X).float().mean())
    assert 0.0 < changed <= 0.10


def test_bad_ranges_name_the_pair():
    with pytest.raises(ValueError, match="ssi_min_snr_db"):
        create("rawboost_ssi", params={"ssi_min_snr_db": 30.0, "ssi_max_snr_db": 10.0})
    with pytest.raises(ValueError, match="algo"):
        create("rawboost", params={"algo": 9})
