"""TorchScript, ONNX and Hugging Face loaders give the same scores as a direct forward."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import tiny_models
import torch

from audiostress.detectors import DetectorError, load_detector

#: Same weights, same float32 graph, different runtime: agreement to float32 rounding.
SCORE_ATOL = 1e-6
#: HF: batched vs one-clip-at-a-time forward of a tiny wav2vec2 (float32 reductions reorder).
HF_ATOL = 1e-5
INPUT = {"length": 16000}
OUTPUT = {"kind": "logits", "fake_index": 0}


def _p_ref(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.softmax(model(x).double(), dim=1)[:, 0]


def test_torchscript_export_matches(tmp_path, tiny_ref, audio_batch):
    path = tmp_path / "tiny.ts"
    torch.jit.save(torch.jit.trace(tiny_ref, audio_batch[:2]), str(path))
    det = load_detector(f"torchscript:{path}", input=INPUT, output=OUTPUT)
    torch.testing.assert_close(det(audio_batch).p_fake, _p_ref(tiny_ref, audio_batch), atol=SCORE_ATOL, rtol=0)
    assert det.describe()["loader"] == "torchscript" and det.name == "tiny"


def test_torchscript_rejects_non_script_file(tmp_path):
    path = tmp_path / "junk.ts"
    path.write_bytes(b"not a model")
    with pytest.raises(DetectorError, match="not a TorchScript module"):
        load_detector(f"torchscript:{path}")


def _export_onnx(model: torch.nn.Module, x: torch.Tensor, path) -> None:
    torch.onnx.export(
        model, (x,), str(path), input_names=["audio"], output_names=["logits"],
        dynamic_axes={"audio": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False,
    )


def test_onnx_export_matches(tmp_path, tiny_ref, audio_batch):
    pytest.importorskip("onnxruntime")
    path = tmp_path / "tiny.onnx"
    _export_onnx(tiny_ref, audio_batch[:2], path)
    det = load_detector(f"onnx:{path}", output=OUTPUT, batch_size=2)
    assert det.input.length == 16000  # the fixed input length of the graph becomes the default
    torch.testing.assert_close(det(audio_batch).p_fake, _p_ref(tiny_ref, audio_batch), atol=SCORE_ATOL, rtol=0)


def test_onnx_without_onnxruntime_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(DetectorError, match=r'pip install "audiostress\[onnx\]"'):
        load_detector(f"onnx:{tmp_path / 'x.onnx'}")


def _tiny_hf(tmp_path, id2label):
    pytest.importorskip("transformers")
    return tiny_models.save_tiny_hf(tmp_path, id2label)


def test_hf_classifier_matches_direct_forward(tmp_path, audio_batch):
    model, extractor = _tiny_hf(tmp_path, {0: "bonafide", 1: "spoof"})
    det = load_detector(f"hf:{tmp_path}", input={"length": 16000})
    assert det.output.fake_index == 1 and det.describe()["fake_class"] == "spoof"
    ref = []
    with torch.no_grad():
        for clip in audio_batch:
            feats = extractor(clip.numpy(), sampling_rate=16000, return_tensors="pt")
            ref.append(torch.softmax(model(**feats).logits.double(), dim=1)[0, 1])
    torch.testing.assert_close(det(audio_batch).p_fake, torch.stack(ref), atol=HF_ATOL, rtol=0)


def test_hf_label_resolution(tmp_path):
    _tiny_hf(tmp_path, {0: "AI-generated", 1: "Human"})
    assert load_detector(f"hf:{tmp_path}").output.fake_index == 0
    assert load_detector(f"hf:{tmp_path}", output={"fake_label": "human"}).output.fake_index == 1
    assert load_detector(f"hf:{tmp_path}", output={"fake_index": 1}).output.fake_index == 1


def test_hf_ambiguous_labels_list_them(tmp_path):
    _tiny_hf(tmp_path, {0: "LABEL_0", 1: "LABEL_1"})
    with pytest.raises(DetectorError) as info:
        load_detector(f"hf:{tmp_path}")
    assert "'LABEL_0'" in str(info.value) and "'LABEL_1'" in str(info.value) and "fake_label" in str(info.value)


def test_hf_errors(tmp_path, monkeypatch):
    with pytest.raises(DetectorError, match="no config.json"):
        load_detector(f"hf:{tmp_path}")
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(DetectorError, match=r'pip install "audiostress\[hf\]"'):
        load_detector(f"hf:{tmp_path}")


def test_checkpoint_and_kwargs_rejected_for_file_specs(tmp_path):
    with pytest.raises(DetectorError, match="`checkpoint` does not apply"):
        load_detector(f"torchscript:{tmp_path / 'a.ts'}", checkpoint="x.pt")
    with pytest.raises(DetectorError, match="`kwargs` do not apply"):
        load_detector(f"onnx:{tmp_path / 'a.onnx'}", kwargs={"a": 1})


def test_onnx_tuple_output_with_select(tmp_path, tiny_ref, audio_batch):
    pytest.importorskip("onnxruntime")

    class Pair(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            logits = self.inner(x)
            return logits.sum(dim=1, keepdim=True), logits.flip(1)  # (hidden, [bonafide?] reversed)

    path = tmp_path / "pair.onnx"
    torch.onnx.export(Pair(tiny_ref), (audio_batch[:2],), str(path), input_names=["audio"],
                      dynamic_axes={"audio": {0: "b"}}, dynamo=False)
    det = load_detector(f"onnx:{path}", output={"kind": "logits", "fake_index": 1, "select": 1})
    out = det(audio_batch).p_fake
    torch.testing.assert_close(out, _p_ref(tiny_ref, audio_batch), atol=SCORE_ATOL, rtol=0)
    assert np.isfinite(out.numpy()).all()


def test_hf_defaults_come_from_the_feature_extractor(tmp_path):
    """Issue 10, 1b: no silent AASIST crop; a wav2vec2 extractor (no fixed size) means whole clips at its rate."""
    _tiny_hf(tmp_path, {0: "bonafide", 1: "spoof"})
    det = load_detector(f"hf:{tmp_path}")
    assert (det.input.sample_rate, det.input.length, det.input.crop, det.input.pad) == (16000, None, None, None)


def test_hf_fixed_size_extractor_gives_its_length():
    from audiostress.detectors.huggingface import extractor_input

    class Whisperish:
        sampling_rate = 16000
        n_samples = 480000

    class Wav2vecish:
        sampling_rate = 8000

    assert extractor_input(Whisperish()) == {"sample_rate": 16000, "length": 480000, "pad": "zero", "crop": "first"}
    assert extractor_input(Wav2vecish()) == {"sample_rate": 8000}
