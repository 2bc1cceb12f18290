"""Factory loader: `file.py:factory`, `pkg.module:factory`, checkpoints and the weights_only guard."""

from __future__ import annotations

from pathlib import Path

import pytest
import tiny_models
import torch
from tiny_models import HIDDEN

from audiostress.detectors import TRUST_CHECKPOINT_HELP, DetectorError, load_detector

#: Loader output vs a direct forward of the same weights: same ops, float32 then float64.
SCORE_ATOL = 1e-6
INPUT = {"length": 16000, "sample_rate": 16000}
OUTPUT = {"kind": "logits", "fake_index": 0}


def _direct(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        logits = model(x).double()
    return logits[:, 0] - logits[:, 1], torch.softmax(logits, dim=1)[:, 0]


def test_file_factory_state_dict_matches_direct_forward(tiny_spec, tiny_ckpt, tiny_ref, audio_batch):
    det = load_detector(tiny_spec, checkpoint=str(tiny_ckpt), kwargs={"hidden": HIDDEN}, input=INPUT, output=OUTPUT)
    raw_ref, p_ref = _direct(tiny_ref, audio_batch)
    called = det(audio_batch)
    torch.testing.assert_close(called.p_fake, p_ref, atol=SCORE_ATOL, rtol=0)
    torch.testing.assert_close(called.raw_score, raw_ref, atol=SCORE_ATOL, rtol=0)
    scored = det.score([a.unsqueeze(0) for a in audio_batch], 16000, clip_ids=list("abcde"))
    torch.testing.assert_close(scored.p_fake, p_ref, atol=SCORE_ATOL, rtol=0)
    assert scored.p_fake.dtype == torch.float64 and scored.p_fake.device.type == "cpu"
    info = det.describe()
    assert info["checkpoint_sha256"] and len(info["checkpoint_sha256"]) == 64
    assert info["kwargs"] == {"hidden": HIDDEN} and info["checkpoint_loaded_by"] == "audiostress"


def test_module_factory_spec(tmp_path, monkeypatch, tiny_ckpt, tiny_ref, audio_batch):
    (tmp_path / "tinypkg_mod.py").write_text(
        "from tiny_models import build_plain\n\ndef make(hidden=8):\n    return build_plain(hidden)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    det = load_detector("tinypkg_mod:make", checkpoint=str(tiny_ckpt), input=INPUT, output=OUTPUT)
    torch.testing.assert_close(det(audio_batch).p_fake, _direct(tiny_ref, audio_batch)[1], atol=SCORE_ATOL, rtol=0)


def test_nested_and_dataparallel_state_dicts_load(tmp_path, tiny_spec, tiny_ref, audio_batch):
    state = tiny_models.random_state(HIDDEN, 7)
    path = tmp_path / "nested.pt"
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    det = load_detector(tiny_spec, checkpoint=str(path), input=INPUT, output=OUTPUT)
    torch.testing.assert_close(det(audio_batch).p_fake, _direct(tiny_ref, audio_batch)[1], atol=SCORE_ATOL, rtol=0)


def test_full_pickle_refused_without_trust_and_accepted_with_it(tmp_path, tiny_spec, tiny_ref, audio_batch):
    path = tmp_path / "full.pt"
    torch.save(tiny_ref, path)  # a whole pickled module, not a state dict
    with pytest.raises(DetectorError) as info:
        load_detector(tiny_spec, checkpoint=str(path), input=INPUT, output=OUTPUT)
    text = str(info.value)
    assert "--trust-checkpoint" in text and "arbitrary code" in text and str(path) in text
    det = load_detector(tiny_spec, checkpoint=str(path), input=INPUT, output=OUTPUT, trust_checkpoint=True)
    torch.testing.assert_close(det(audio_batch).p_fake, _direct(tiny_ref, audio_batch)[1], atol=SCORE_ATOL, rtol=0)
    assert "arbitrary code" in TRUST_CHECKPOINT_HELP


def test_factory_with_checkpoint_parameter_receives_the_path(tmp_path, audio_batch):
    model_file = Path(__file__).parents[2] / "examples" / "my_model.py"
    import importlib.util

    spec = importlib.util.spec_from_file_location("my_model_ref", model_file)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ref = mod.build(hidden=16)
    with torch.no_grad():
        for p in ref.parameters():
            p.mul_(1.5)
    ckpt = tmp_path / "w.pt"
    torch.save(ref.state_dict(), ckpt)
    det = load_detector(f"{model_file}:build", checkpoint=str(ckpt), kwargs={"hidden": 16},
                        input=INPUT, output={"kind": "logits", "fake_index": 0, "select": 1})
    assert det.describe()["checkpoint_loaded_by"] == "factory"
    with torch.no_grad():
        logits = ref.eval()(audio_batch)[1].double()
    torch.testing.assert_close(det(audio_batch).p_fake, 1 - torch.softmax(logits, 1)[:, 1], atol=SCORE_ATOL, rtol=0)


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("no_such_file.py:build", "does not exist"),
        ("tiny_models.py", "path/to/model.py:build"),
        ("no.such.module:build", "cannot import module"),
    ],
)
def test_bad_specs_raise_clear_errors(spec, needle):
    with pytest.raises((DetectorError, ValueError), match=None) as info:
        load_detector(spec)
    assert needle in str(info.value)


def test_missing_factory_attribute_and_mismatched_checkpoint(tmp_path, tiny_spec):
    with pytest.raises(DetectorError, match="no callable named 'nope'"):
        load_detector(tiny_spec.replace("build_plain", "nope"))
    path = tmp_path / "other.pt"
    torch.save(tiny_models.random_state(4, 1), path)
    with pytest.raises(DetectorError, match="does not fit the model"):
        load_detector(tiny_spec, checkpoint=str(path), kwargs={"hidden": HIDDEN})


def test_callable_and_module_python_api(tiny_ref, audio_batch):
    det = load_detector(tiny_ref, input=INPUT, output=OUTPUT, name="ref")
    torch.testing.assert_close(det(audio_batch).p_fake, _direct(tiny_ref, audio_batch)[1], atol=SCORE_ATOL, rtol=0)
    fn = load_detector(lambda x: x.mean(dim=1), input=INPUT, output={"kind": "score", "higher_is_fake": True})
    torch.testing.assert_close(fn(audio_batch).raw_score, audio_batch.mean(dim=1).double(), atol=SCORE_ATOL, rtol=0)


def test_settings_are_validated():
    with pytest.raises(ValueError, match=r"`precision` in \{fp32, bf16, fp16\}"):
        load_detector(lambda x: x, precision="fp8")
    with pytest.raises(ValueError, match="`batch_size`"):
        load_detector(lambda x: x, batch_size=0)


def test_bf16_autocast_runs_close_to_fp32(tiny_spec, tiny_ckpt, audio_batch):
    fp32 = load_detector(tiny_spec, checkpoint=str(tiny_ckpt), input=INPUT, output=OUTPUT)
    bf16 = load_detector(tiny_spec, checkpoint=str(tiny_ckpt), input=INPUT, output=OUTPUT, precision="bf16")
    a, b = fp32(audio_batch).p_fake, bf16(audio_batch).p_fake
    # bf16 keeps 8 mantissa bits: probabilities agree to ~1e-2, but are not bit-identical.
    torch.testing.assert_close(a, b, atol=3e-2, rtol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_device_matches_cpu(tiny_spec, tiny_ckpt, audio_batch):
    cpu = load_detector(tiny_spec, checkpoint=str(tiny_ckpt), input=INPUT, output=OUTPUT)
    gpu = load_detector(tiny_spec, checkpoint=str(tiny_ckpt), input=INPUT, output=OUTPUT, device="cuda")
    # cuDNN may use TF32 for float32 convolutions (10-bit mantissa): a loose bound, not bitwise.
    torch.testing.assert_close(gpu(audio_batch).p_fake, cpu(audio_batch).p_fake, atol=1e-3, rtol=0)
    fp16 = load_detector(tiny_spec, checkpoint=str(tiny_ckpt), input=INPUT, output=OUTPUT, device="cuda", precision="fp16")
    torch.testing.assert_close(fp16(audio_batch).p_fake, cpu(audio_batch).p_fake, atol=3e-2, rtol=0)


def test_cuda_requested_without_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DetectorError, match="CUDA is not available; use --device cpu"):
        load_detector(lambda x: x, device="cuda")
    with pytest.raises(DetectorError, match="`device` such as cpu, cuda"):
        load_detector(lambda x: x, device="tpu9")
