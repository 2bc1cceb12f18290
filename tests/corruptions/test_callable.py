"""Calling nodes on numpy arrays and tensors, ``corrupt``, and the text syntax of parameters."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiostress.corruptions import Chain, Maybe, corrupt, create, from_dict
from audiostress.measure import snr_db
from audiostress.runners.corrupt_worker import corrupt_tensor
from audiostress.seeding import item_generators, make_generator
from audiostress.synth import speech_like

SR = 16000
#: The SNR a noise corruption sets is an exact power ratio; float32 output rounding leaves ~1e-4 dB.
SNR_TOL_DB = 0.01


def _clip(seed: int = 0, seconds: float = 0.25) -> np.ndarray:
    return speech_like(seconds, SR, seed=seed)[0].numpy()  # [T] float32


def _apply_one(node, x: np.ndarray, seed: int) -> np.ndarray:
    batch = torch.from_numpy(x).reshape(1, 1, -1)
    lengths = torch.tensor([x.shape[-1]])
    return node.apply_items(batch, SR, [make_generator(seed)], lengths).reshape(x.shape).numpy()


def test_numpy_mono_clip_equals_apply_items_with_the_pair_generator():
    x = _clip()
    node = create("gaussian_noise", severity=3)
    y = node(x, SR, seed=1234)
    assert isinstance(y, np.ndarray) and y.shape == x.shape and y.dtype == np.float32
    assert y.tobytes() == _apply_one(node, x, 1234).tobytes()


def test_a_single_clip_reproduces_the_sweep_worker():
    x = np.stack([_clip(1), _clip(2)])  # [C=2, T]
    node = Chain(create("low_pass", severity=2), create("gaussian_noise", params={"snr_db": "5..20"}))
    sweep = corrupt_tensor(node, torch.from_numpy(x), SR, 987654321).numpy()
    assert node(x, SR, seed=987654321).tobytes() == sweep.tobytes()


def test_batch_with_one_seed_per_item_equals_each_clip_alone():
    x = np.stack([_clip(s)[None] for s in range(3)])  # [B=3, C=1, T]
    node = create("gaussian_noise", params={"snr_db": "0..30"})
    y = node(x, SR, seed=[11, 12, 13])
    assert y.shape == (3, 1, x.shape[-1]) and y.dtype == np.float32
    for i, s in enumerate([11, 12, 13]):
        assert y[i].tobytes() == node(x[i], SR, seed=s).tobytes()


def test_batch_with_one_int_seed_splits_it_with_item_generators():
    x = np.stack([_clip(s)[None] for s in range(4)])
    node = create("gaussian_noise", params={"snr_db": "0..30"})
    expected = node.apply_items(torch.from_numpy(x), SR, item_generators(make_generator(5), 4), torch.full((4,), x.shape[-1]))
    assert node(x, SR, seed=5).tobytes() == expected.numpy().tobytes()


def test_float64_numpy_stays_float64_and_is_computed_in_float64():
    x = _clip().astype(np.float64)
    y = create("gain", params={"gain_db": -6.0})(x, SR)
    assert y.dtype == np.float64 and y.shape == x.shape
    np.testing.assert_allclose(y, x * 10 ** (-6 / 20), rtol=1e-12, atol=0)


def test_torch_tensor_stays_a_tensor_with_its_dtype_and_device():
    for dtype in (torch.float32, torch.float64):
        x = torch.from_numpy(_clip()).to(dtype).reshape(1, -1)  # [C, T]
        y = create("gaussian_noise", severity=2)(x, SR, seed=3)
        assert isinstance(y, torch.Tensor) and y.dtype == dtype and y.device == x.device and y.shape == x.shape
        assert torch.equal(y, create("gaussian_noise", severity=2).apply(x, SR, generator=[make_generator(3)]))


def test_input_is_not_modified():
    x = _clip()
    before = x.copy()
    create("gain", params={"gain_db": 6.0})(x, SR)
    assert np.array_equal(x, before)


def test_range_text_draws_snrs_inside_the_range_that_differ_across_seeds():
    x = _clip()
    node = create("gaussian_noise", params={"snr_db": "5..20"})
    measured = [float(snr_db(torch.from_numpy(x)[None], torch.from_numpy(node(x, SR, seed=s))[None])[0]) for s in range(8)]
    assert all(5.0 - SNR_TOL_DB <= v <= 20.0 + SNR_TOL_DB for v in measured)
    assert len({round(v, 1) for v in measured}) == 8


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not():
    x = _clip()
    node = create("gaussian_noise", params={"snr_db": "5..20"})
    assert node(x, SR, seed=7).tobytes() == node(x, SR, seed=7).tobytes()
    assert node(x, SR, seed=7).tobytes() != node(x, SR, seed=8).tobytes()


def test_text_parameters_round_trip_through_to_dict():
    node = create("gaussian_noise", params={"snr_db": "5..20"})
    assert node.to_dict()["params"] == {"snr_db": {"uniform": [5.0, 20.0]}}
    x = _clip()
    assert from_dict(node.to_dict())(x, SR, seed=2).tobytes() == node(x, SR, seed=2).tobytes()


def test_choice_text_for_numbers_and_declared_choices():
    node = create("colored_noise", params={"color": "pink|brown", "snr_db": "10|20"})
    drawn = node.sample([make_generator(s) for s in range(32)])
    assert set(drawn["color"]) == {"pink", "brown"}
    assert set(drawn["snr_db"]) == {10.0, 20.0}
    assert from_dict(node.to_dict()) == node


def test_free_text_parameters_are_not_parsed():
    node = create("background_noise", params={"noise_dir": "../noises|old..new", "snr_db": 10.0})
    assert node.values["noise_dir"] == "../noises|old..new"
    with pytest.raises(ValueError, match=r"`color` in one of 'pink', 'brown', 'blue' for colored_noise, got 'pink\|green'"):
        create("colored_noise", params={"color": "pink|green"})
    with pytest.raises(ValueError, match=r"`snr_db` in -20\.\.120 for gaussian_noise, got 'loud'"):
        create("gaussian_noise", params={"snr_db": "loud"})


def test_corrupt_equals_create_then_call():
    x = _clip(seconds=0.5)
    y = corrupt(x, SR, "mp3", severity=3, seed=42)
    assert isinstance(y, np.ndarray) and y.shape == x.shape and y.dtype == np.float32
    assert y.tobytes() == create("mp3", severity=3)(x, SR, seed=42).tobytes()
    assert not np.array_equal(y, x)


def test_corrupt_builds_cascades_and_graph_nodes_are_callable():
    x = _clip(seconds=0.5)
    y = corrupt(x, SR, "mp3_then_aac", severity=2, seed=1)
    assert y.tobytes() == create("mp3_then_aac", severity=2)(x, SR, seed=1).tobytes()
    assert np.array_equal(Maybe(0.0, create("gain", severity=5))(x, SR), x)


def test_lengths_leave_padding_at_zero():
    x = np.stack([_clip(0)[None], _clip(1)[None]])
    valid = 1000
    y = create("gaussian_noise", severity=3)(x, SR, seed=[1, 2], lengths=[x.shape[-1], valid])
    assert np.count_nonzero(y[1, :, valid:]) == 0
    alone = create("gaussian_noise", severity=3)(x[1, :, :valid], SR, seed=2)
    assert y[1, :, :valid].tobytes() == alone.tobytes()


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"audio": np.zeros(100, np.int16)}, TypeError, r"`audio`, got a numpy array of dtype int16.*astype\(np\.float32\)"),
        ({"audio": [0.0, 0.1]}, TypeError, r"`audio` as a numpy array or a torch tensor, got list"),
        ({"audio": torch.zeros(100, dtype=torch.int32)}, TypeError, r"floating-point `audio`, got a tensor of dtype torch\.int32"),
        ({"audio": np.zeros((1, 1, 1, 100), np.float32)}, ValueError, r"`audio` shaped \[T\], \[C, T\] or \[B, C, T\], got shape \(1, 1, 1, 100\)"),
        ({"audio": np.zeros(0, np.float32)}, ValueError, r"`audio` has no samples"),
        ({"sample_rate": 0}, ValueError, r"positive `sample_rate` in Hz, got 0"),
        ({"sample_rate": 16000.0}, TypeError, r"`sample_rate` as a positive int in Hz, got 16000\.0"),
        ({"seed": True}, TypeError, r"`seed` as an int in 0\.\.2\*\*64-1, got True"),
        ({"seed": -1}, ValueError, r"`seed` in 0\.\.2\*\*64-1, got -1"),
        ({"seed": 1.5}, TypeError, r"`seed` as an int .* got 1\.5"),
        ({"seed": [1, 2]}, TypeError, r"a single clip takes one int `seed`, got a sequence of 2"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, pattern):
    args = {"audio": np.zeros(100, np.float32), "sample_rate": SR, "seed": 0, **kwargs}
    node = create("gain", severity=1)
    with pytest.raises(error, match=pattern):
        node(args["audio"], args["sample_rate"], seed=args["seed"])


def test_bad_batch_seeds_and_lengths_are_named():
    x = np.zeros((2, 1, 100), np.float32)
    node = create("gain", severity=1)
    with pytest.raises(ValueError, match=r"one `seed` per batch item \(2\), got 3"):
        node(x, SR, seed=[1, 2, 3])
    with pytest.raises(TypeError, match=r"`seed\[1\]` as an int"):
        node(x, SR, seed=[1, "2"])
    with pytest.raises(ValueError, match=r"`lengths` must lie in 0\.\.100, got \[100, 101\]"):
        node(x, SR, lengths=[100, 101])
    with pytest.raises(TypeError, match=r"one `lengths` entry per item"):
        node(x, SR, lengths=50)
