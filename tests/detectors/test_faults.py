"""Model faults become DetectorErrors naming the detector, the batch's clip ids and the expectation."""

from __future__ import annotations

import warnings

import pytest
import torch

from audiostress.detectors import DetectorError, load_detector

INPUT = {"length": 100}
OUT = {"kind": "score", "higher_is_fake": True}
IDS = ["spk1/a", "spk1/b", "spk2/c", "spk2/d", "spk3/e"]


def _clips(n: int = 5) -> list[torch.Tensor]:
    return [torch.full((1, 100), 0.1 * (i + 1)) for i in range(n)]


def _fail_on_third_clip(x: torch.Tensor) -> torch.Tensor:
    if bool((x[:, 0] > 0.25).any() & (x[:, 0] < 0.35).any()):
        raise RuntimeError("kernel exploded")
    return x.mean(dim=1)


def test_raising_model_names_only_the_failing_batch():
    det = load_detector(_fail_on_third_clip, input=INPUT, output=OUT, name="boom", batch_size=2)
    with pytest.raises(DetectorError) as info:
        det.score(_clips(), 16000, clip_ids=IDS)
    err = info.value
    assert err.detector == "boom" and err.clip_ids == ["spk2/c", "spk2/d"]
    assert "'boom'" in str(err) and "spk2/c" in str(err) and "kernel exploded" in str(err)
    assert "expected the model to accept input [2, 100]" in str(err)


def test_nan_and_inf_outputs():
    def nan_model(x):
        out = x.mean(dim=1)
        out[0] = float("nan")
        return out

    det = load_detector(nan_model, input=INPUT, output=OUT, name="nan")
    with pytest.raises(DetectorError, match=r"spk1/a.*expected finite outputs, got NaN or Inf for 1 of 5"):
        det.score(_clips(), 16000, clip_ids=IDS)
    det = load_detector(lambda x: torch.full((x.shape[0], 2), float("inf")), input=INPUT,
                        output={"kind": "logits", "fake_index": 0})
    with pytest.raises(DetectorError, match="finite"):
        det(torch.zeros(2, 100))


def test_wrong_shape():
    det = load_detector(lambda x: x.mean(dim=1)[:-1], input=INPUT, output=OUT, name="short")
    with pytest.raises(DetectorError) as info:
        det.score(_clips(3), 16000, clip_ids=IDS[:3])
    assert "expected [3] or [3, K] scores, got shape [2]" in str(info.value)
    assert info.value.clip_ids == IDS[:3]


def test_bad_clip_is_named():
    det = load_detector(lambda x: x.mean(dim=1), input=INPUT, output=OUT)
    with pytest.raises(DetectorError) as info:
        det.score([torch.zeros(1, 100), torch.zeros(1, 2, 100)], 16000, clip_ids=["ok", "bad"])
    assert info.value.clip_ids == ["bad"] and "[C, T]" in str(info.value)


def test_cuda_oom_halves_the_batch_and_warns():
    seen: list[int] = []

    def picky(x: torch.Tensor) -> torch.Tensor:
        seen.append(x.shape[0])
        if x.shape[0] > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return x.mean(dim=1)

    det = load_detector(picky, input=INPUT, output=OUT, batch_size=8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = det.score(_clips(), 16000, clip_ids=IDS)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert any("batch size 5" in m and "retrying with batch size 2" in m for m in messages)
    assert seen[:2] == [5, 2] and max(seen[1:]) <= 2
    expected = torch.tensor([0.1 * (i + 1) for i in range(5)], dtype=torch.float64)
    torch.testing.assert_close(got.raw_score, expected, atol=1e-6, rtol=0)


def test_oom_at_batch_size_one_is_an_error():
    def never(x):
        raise torch.OutOfMemoryError("CUDA out of memory")

    det = load_detector(never, input=INPUT, output=OUT, batch_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DetectorError, match="out of device memory even at batch size 1"):
            det.score(_clips(2), 16000, clip_ids=IDS[:2])
