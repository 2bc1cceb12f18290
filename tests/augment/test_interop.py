"""audiomentations both ways: determinism, the contained global RNG, and the missing-extra error."""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest
import torch
from audiomentations import AddGaussianSNR, Compose, Gain
from augment_data import SR

from audiostress.augment import AugmentedDataset, pad_collate
from audiostress.augment.interop import as_audiomentations, from_audiomentations
from audiostress.corruptions import Chain, create


def test_from_audiomentations_is_deterministic_per_item_and_restores_global_rng(clips):
    node = Chain(from_audiomentations(AddGaussianSNR(min_snr_db=5.0, max_snr_db=30.0, p=1.0)), create("gain", params={"gain_db": -1.0}))
    random.seed(123)
    np.random.seed(456)
    py_before, np_before = random.getstate(), np.random.get_state()
    ds = AugmentedDataset(clips, node, seed=2, sample_rate=SR)
    first = pad_collate([ds[i] for i in range(4)])
    assert random.getstate() == py_before
    np_after = np.random.get_state()
    assert np_after[0] == np_before[0] and np.array_equal(np_after[1], np_before[1]) and np_after[2:] == np_before[2:]
    again = pad_collate([ds[i] for i in range(4)])
    assert torch.equal(first.audio, again.audio)
    # Different items draw differently (per-item generator), and the audio really changed.
    noise = [(first.audio[i, :, : clips[i]["audio"].shape[-1]] - clips[i]["audio"] * 10 ** (-1 / 20)).pow(2).mean() for i in range(4)]
    assert len({round(float(v), 12) for v in noise}) == 4 and min(float(v) for v in noise) > 0
    assert first.applied[0]["steps"][0]["corruption"] == "audiomentations.AddGaussianSNR"
    # The restore also holds when the wrapped transform raises.
    def broken(samples, sample_rate):
        np.random.rand()
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError, match="boom"):
        from_audiomentations(broken)(np.ones(10, np.float32), SR)
    assert random.getstate() == py_before


def test_as_audiomentations_inside_compose(clips):
    x = clips[0]["audio"][0].numpy()
    mp3 = create("mp3", params={"bitrate_kbps": 32, "quality": 7})
    compose = Compose([Gain(min_gain_db=-3.0, max_gain_db=-3.0, p=1.0), as_audiomentations(mp3, p=1.0)])
    y = compose(x, sample_rate=SR)
    expected = mp3(x * np.float32(10 ** (-3 / 20)), SR)
    assert y.shape == x.shape and np.allclose(y, expected, atol=1e-6)
    t = as_audiomentations(create("gaussian_noise", params={"snr_db": 20.0}), p=0.5, seed=3)
    outs = [t(x, SR) for _ in range(8)]
    applied = [not np.array_equal(o, x) for o in outs]
    assert 0 < sum(applied) < 8  # p is honoured per call
    t2 = as_audiomentations(create("gaussian_noise", params={"snr_db": 20.0}), p=0.5, seed=3)
    assert all(np.array_equal(a, t2(x, SR)) for a in outs)  # same seed, same sequence


def test_missing_audiomentations_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "audiomentations", None)
    with pytest.raises(ImportError, match=r'pip install "audiostress\[augment\]"'):
        as_audiomentations(create("gain", params={"gain_db": 0.0}))
