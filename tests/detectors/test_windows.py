"""Long-audio windows and the other InputSpec steps, checked against hand-written loops."""

from __future__ import annotations

import math

import pytest
import torch

from audiostress.audio import resample
from audiostress.detectors import InputSpec, load_detector
from audiostress.detectors.prepare import prepare_clip
from audiostress.seeding import make_generator

#: Batched vs one-window-at-a-time forward of the same float32 model.
SCORE_ATOL = 1e-6
SR = 16000
LENGTH = 64600
OUTPUT = {"kind": "logits", "fake_index": 0}


def _hand_windows(x: torch.Tensor, length: int, hop: int) -> list[torch.Tensor]:
    out, start = [], 0
    while True:
        seg = x[start : start + length]
        if seg.numel() < length:
            seg = seg.repeat(math.ceil(length / seg.numel()))[:length]
        out.append(seg)
        if start + length >= x.numel():
            return out
        start += hop


def _p_one(model, window: torch.Tensor) -> float:
    with torch.no_grad():
        return float(torch.softmax(model(window.unsqueeze(0)).double(), dim=1)[0, 0])


@pytest.fixture(scope="module")
def clip_60s() -> torch.Tensor:
    gen = torch.Generator().manual_seed(11)
    t = torch.arange(60 * SR) / SR
    envelope = 0.5 + 0.5 * torch.sin(2 * math.pi * 0.05 * t)  # slowly varying: windows differ
    return (envelope * torch.randn(60 * SR, generator=gen) * 0.2).unsqueeze(0)


@pytest.mark.parametrize(("hop", "how"), [(None, "mean"), (32000, "mean"), (40000, "max")])
def test_windows_aggregate_matches_hand_loop(tiny_ref, clip_60s, hop, how):
    det = load_detector(tiny_ref, input={"length": LENGTH, "crop": "windows", "hop": hop, "aggregate": how},
                        output=OUTPUT, batch_size=4)
    per_window = [_p_one(tiny_ref, w) for w in _hand_windows(clip_60s[0], LENGTH, hop or LENGTH)]
    if hop is None:
        assert len(per_window) == 1 + math.ceil((60 * SR - LENGTH) / LENGTH) == 15
    expected = sum(per_window) / len(per_window) if how == "mean" else max(per_window)
    got = det.score([clip_60s], SR, clip_ids=["song"])
    assert abs(float(got.p_fake[0]) - expected) < SCORE_ATOL
    assert abs(float(torch.sigmoid(got.raw_score[0])) - float(got.p_fake[0])) < 1e-9
    assert max(per_window) - min(per_window) > 1e-3  # the windows really differ, so the mean means something


def test_windows_of_many_clips_map_back_to_their_clip(tiny_ref, clip_60s):
    det = load_detector(tiny_ref, input={"length": LENGTH, "crop": "windows"}, output=OUTPUT, batch_size=4)
    short = clip_60s[:, :20000]
    mid = clip_60s[:, 100000:300000]
    together = det.score([short, clip_60s, mid], SR, clip_ids=["s", "long", "m"]).p_fake
    alone = torch.cat([det.score([c], SR, clip_ids=[i]).p_fake for c, i in ((short, "s"), (clip_60s, "long"), (mid, "m"))])
    torch.testing.assert_close(together, alone, atol=SCORE_ATOL, rtol=0)


def test_first_center_repeat_zero_and_downmix():
    x = torch.arange(10, dtype=torch.float32)
    stereo = torch.stack([x, x + 2])
    first = prepare_clip(stereo, SR, InputSpec(length=4, crop="first"))[0]
    assert first.tolist() == [1.0, 2.0, 3.0, 4.0]  # channel mean = x + 1
    assert prepare_clip(stereo, SR, InputSpec(length=4, channels="first", crop="center"))[0].tolist() == [3, 4, 5, 6]
    short = torch.tensor([[1.0, 2.0, 3.0]])
    assert prepare_clip(short, SR, InputSpec(length=7))[0].tolist() == [1, 2, 3, 1, 2, 3, 1]
    assert prepare_clip(short, SR, InputSpec(length=5, pad="zero"))[0].tolist() == [1, 2, 3, 0, 0]
    assert prepare_clip(short, SR, InputSpec(length=None))[0].tolist() == [1, 2, 3]


def test_random_crop_is_seeded_per_clip():
    x = torch.arange(1000, dtype=torch.float32).unsqueeze(0)
    spec = InputSpec(length=10, crop="random")
    a = prepare_clip(x, SR, spec, make_generator(1))[0]
    b = prepare_clip(x, SR, spec, make_generator(1))[0]
    c = prepare_clip(x, SR, spec, make_generator(2))[0]
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(a, torch.arange(a[0], a[0] + 10))  # a contiguous excerpt


def test_resampling_to_the_detector_rate(tiny_ref, clip_60s):
    det = load_detector(tiny_ref, input={"length": 16000}, output=OUTPUT)
    at_8k = clip_60s[:, : 2 * SR]
    direct = _p_one(tiny_ref, resample(at_8k, 8000, SR)[0, :16000])
    assert abs(float(det.score([at_8k], 8000, clip_ids=["x"]).p_fake[0]) - direct) < SCORE_ATOL


def test_whole_clips_of_different_lengths_are_not_padded_together(tiny_ref, clip_60s):
    det = load_detector(tiny_ref, input={"length": None}, output=OUTPUT)
    clips = [clip_60s[:, :8000], clip_60s[:, :12000], clip_60s[:, 5:8005]]
    got = det.score(clips, SR, clip_ids=["a", "b", "c"]).p_fake
    expected = torch.tensor([_p_one(tiny_ref, c[0]) for c in clips], dtype=torch.float64)
    torch.testing.assert_close(got, expected, atol=SCORE_ATOL, rtol=0)


def test_input_spec_validation_names_key_and_values():
    with pytest.raises(ValueError, match=r"`input.crop` in \{first, center, random, windows\}, got 'middle'"):
        InputSpec(crop="middle")
    with pytest.raises(ValueError, match="`input.length`"):
        InputSpec(length=0)
    with pytest.raises(ValueError, match=r"`input.crop: windows` needs `input.length`"):
        InputSpec(length=None, crop="windows")


# -- issue 10, 1b: the default input is the whole clip ------------------------------------------


def test_default_input_is_the_whole_clip_not_an_aasist_crop():
    spec = InputSpec()
    assert (spec.length, spec.crop, spec.pad) == (None, None, None)
    seen: list[int] = []

    def model(x: torch.Tensor) -> torch.Tensor:
        seen.append(int(x.shape[-1]))
        return x.mean(dim=1)

    det = load_detector(model, output={"kind": "score", "higher_is_fake": True})
    det.score([torch.zeros(1, 160000)], 16000, clip_ids=["ten_seconds"])
    assert seen == [160000]  # 10 s scored whole (the old default fed the first 64600 samples)


def test_a_length_alone_keeps_the_aasist_crop_and_pad():
    spec = InputSpec(length=64600)
    assert (spec.crop, spec.pad) == ("first", "repeat")
    assert InputSpec(length=100, pad="zero").to_dict()["pad"] == "zero"
    assert InputSpec(length=10, crop="windows", hop=5).windows(22) == 4 and InputSpec().windows(10**6) == 1
    assert InputSpec(length=64600).describe() == "16000 Hz, 64600 samples (crop first, pad repeat)"
    assert InputSpec().describe() == "16000 Hz, whole clip"
