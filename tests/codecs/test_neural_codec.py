"""The ``NeuralCodec`` extension point: a second neural codec is one subclass.

``ToyCodec`` below is a learned-free "codec" (uniform quantisation, or a per-chunk
mean removal / offset when a test needs the model to depend on its input length or
on the chunk). It runs at 12 kHz while the clips are 16 kHz, and it is never
registered: it is created directly, so the global registry is left untouched.
Everything it gets (channel layout, resampling, chunking with crossfades, length
grouping, empty-batch pass-through, model cache, describe and provenance) comes
from the base class.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import Tensor

from audiostress.codecs._neural import (
    ModelCache,
    NeuralCodec,
    chunk_offsets,
    chunk_param,
    weights_path_param,
)
from audiostress.corruptions import registry
from audiostress.corruptions.params import Param
from audiostress.measure import xcorr_lag
from audiostress.synth import speech_like, tone

SR = 16000
MODEL_RATE = 12000
#: Resampling 16 -> 12 -> 16 kHz keeps the band below 6 kHz; a 1 kHz tone comes back within this.
TONE_ATOL = 2e-3
#: An identity model chunked with crossfades equals the unchunked one up to float32 rounding.
CROSSFADE_ATOL = 1e-6
#: The "offset" model adds 0.1 more to each successive chunk. A hard cut would jump 0.1 in one
#: sample; the crossfade spreads it over the 12-sample overlap (16 samples at 16 kHz), so no
#: step between neighbouring output samples exceeds a quarter of the offset step.
OFFSET_STEP = 0.1
MAX_SEAM_JUMP = OFFSET_STEP / 4
#: Samples at the clip's end where the sinc resampler's edge ringing dominates.
EDGE = 64


class ToyModel:
    """Records the shape of every call, so tests see rates, chunk sizes and groups."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, ...]] = []


class ToyCodec(NeuralCodec):
    """A 12 kHz mono "codec": ``mode`` is ``quantise`` (step ``step``), ``identity``,
    ``demean`` (subtract each row's mean: depends on the input length) or ``offset``
    (add ``OFFSET_STEP`` times the call index: tells chunks apart)."""

    name = "toy_neural_codec"
    description = "test-only neural codec stand-in"
    model_rate = MODEL_RATE
    model_channels = 1
    package = "torch"
    params = (
        Param("step", 0.05, float, low=0.0, high=1.0, help="quantiser step"),
        Param("mode", "quantise", str, choices=("quantise", "identity", "demean", "offset")),
        weights_path_param("AUDIOSTRESS_TOY_WEIGHTS"),
        chunk_param(10.0),
    )
    cache = ModelCache()
    builds = 0

    def load(self, device: torch.device, weights_path: str | None) -> Any:
        def build() -> ToyModel:
            type(self).builds += 1
            return ToyModel()

        return self.cache.get(self.model_rate, weights_path or "toy", device, build)

    def code(self, model: Any, rows: Tensor, **params: Any) -> Tensor:
        model.calls.append(tuple(rows.shape))
        mode = params["mode"]
        if mode == "identity":
            return rows
        if mode == "demean":
            return rows - rows.mean(dim=-1, keepdim=True)
        if mode == "offset":
            return rows + OFFSET_STEP * (len(model.calls) - 1)
        step = params["step"]
        return torch.round(rows / step) * step

    def weights_file(self) -> str | None:
        return "toy.weights"

    @classmethod
    def weights_info(cls) -> dict[str, Any]:
        return {"weights_env_var": "AUDIOSTRESS_TOY_WEIGHTS"}


def _model(node: ToyCodec) -> ToyModel:
    model = node.load(torch.device("cpu"), None)
    model.calls.clear()
    return model


def test_toy_codec_is_not_registered():
    assert ToyCodec.name not in registry.available()


def test_model_hears_its_own_rate_and_output_length_is_exact():
    x = tone(1000.0, 0.25, SR).unsqueeze(0)  # [1, 1, 4000]
    node = ToyCodec(mode="identity")
    model = _model(node)
    y = node.apply(x, SR, generator=[torch.Generator()])
    assert y.shape == x.shape and y.dtype == x.dtype
    assert model.calls == [(1, 1, 4000 * MODEL_RATE // SR)]
    assert xcorr_lag(x[0, 0], y[0, 0], max_lag=50) == 0
    torch.testing.assert_close(y[..., 200:-200], x[..., 200:-200], atol=TONE_ATOL, rtol=0)


@pytest.mark.parametrize("length", [1, 333, 7919])
def test_quantising_codec_keeps_shape_and_quantises(length):
    x = torch.randn(2, 3, length, generator=torch.Generator().manual_seed(length)) * 0.3
    node = ToyCodec(step=0.25)
    y = node.apply(x, SR, generator=[torch.Generator(), torch.Generator()])
    assert y.shape == x.shape
    if length > 1000:  # the coarse quantiser is measurably lossy
        assert float((y - x).abs().mean()) > 0.01


def test_channels_are_coded_one_by_one_in_one_call():
    x = torch.randn(2, 3, 1600, generator=torch.Generator().manual_seed(1)) * 0.1
    node = ToyCodec(mode="demean")
    model = _model(node)
    y = node.apply(x, SR, generator=[torch.Generator(), torch.Generator()])
    assert model.calls == [(6, 1, 1200)]
    alone = node.apply(x[1:2, 2:3], SR, generator=[torch.Generator()])
    torch.testing.assert_close(y[1:2, 2:3], alone, atol=1e-6, rtol=0)


def test_chunks_are_bounded_and_crossfade_to_the_unchunked_result():
    x = speech_like(1.3, SR, seed=4).unsqueeze(0)
    whole_node, chunked_node = ToyCodec(mode="identity"), ToyCodec(mode="identity", chunk_s=0.25)
    model = _model(whole_node)
    whole = whole_node.apply(x, SR, generator=[torch.Generator()])
    assert len(model.calls) == 1
    model.calls.clear()
    chunked = chunked_node.apply(x, SR, generator=[torch.Generator()])
    n12 = math.ceil(x.shape[-1] * MODEL_RATE / SR)
    assert len(model.calls) == len(chunk_offsets(n12, 3000, 30)) == 6
    assert max(shape[-1] for shape in model.calls) == 3000
    torch.testing.assert_close(chunked, whole, atol=CROSSFADE_ATOL, rtol=0)


def test_chunk_seams_are_crossfaded_not_cut():
    """Each chunk is offset by 0.1 more than the last: the output ramps, never steps."""
    x = torch.zeros(1, 1, SR)
    node = ToyCodec(mode="offset", chunk_s=0.1)
    _model(node)
    y = node.apply(x, SR, generator=[torch.Generator()])[0, 0]
    offsets = chunk_offsets(MODEL_RATE, 1200, 12)
    # Mid-chunk the offset is reached (chunk k sits at 0.1 * k)...
    for k, start in enumerate(offsets[:-1]):
        middle = int((start + 600) * SR / MODEL_RATE)
        assert abs(float(y[middle]) - OFFSET_STEP * k) < 1e-3
    # ...and the 0.1 steps between chunks are spread over the overlap. (The last samples are
    # left out: resampling a signal that ends at a 0.9 offset rings at the clip's end.)
    assert float(y[:-EDGE].diff().abs().max()) < MAX_SEAM_JUMP


def test_padded_items_are_grouped_by_length_and_equal_the_clip_alone():
    """``demean`` depends on the input length: padding would shift the mean if items were not grouped."""
    clip = speech_like(0.3, SR, seed=5)
    n = clip.shape[-1]
    batch = torch.zeros(3, 1, SR)
    batch[0] = speech_like(1.0, SR, seed=3)[:, :SR]
    batch[1, :, :n] = clip
    batch[2, :, :n] = clip * 0.5
    node = ToyCodec(mode="demean")
    model = _model(node)
    out = node.apply(batch, SR, generator=[torch.Generator() for _ in range(3)], lengths=torch.tensor([SR, n, n]))
    # One call per distinct valid length; equal lengths share a call.
    assert sorted(model.calls) == [(1, 1, SR * MODEL_RATE // SR), (2, 1, n * MODEL_RATE // SR)]
    alone = node.apply(clip.unsqueeze(0), SR, generator=[torch.Generator()])
    torch.testing.assert_close(out[1:2, :, :n], alone, atol=1e-6, rtol=0)
    assert torch.count_nonzero(out[1:, :, n:]) == 0


def test_empty_batch_passes_through():
    node = ToyCodec()
    model = _model(node)
    for shape in [(0, 1, 100), (2, 1, 0)]:
        x = torch.zeros(shape)
        y = node.apply(x, SR, generator=[torch.Generator() for _ in range(shape[0])])
        assert y.shape == x.shape
    assert model.calls == []


def test_model_is_built_once_per_rate_file_and_device():
    ToyCodec.cache.clear()
    ToyCodec.builds = 0
    x = torch.zeros(1, 1, 800)
    for _ in range(3):
        ToyCodec().apply(x, SR, generator=[torch.Generator()])
    ToyCodec(weights_path="other").apply(x, SR, generator=[torch.Generator()])
    assert ToyCodec.builds == 2


def test_describe_and_provenance_come_from_the_base():
    info = ToyCodec.describe()
    assert info["family"] == "neural_codec" and info["placement"] == "device"
    assert info["model_rate_hz"] == MODEL_RATE and info["weights_env_var"] == "AUDIOSTRESS_TOY_WEIGHTS"
    prov = ToyCodec().provenance()
    assert prov == {
        "codec": "toy_neural_codec",
        "backend": "torch",
        "versions": {"torch": torch.__version__},
        "model_rate_hz": MODEL_RATE,
        "weights": "toy.weights",
    }
