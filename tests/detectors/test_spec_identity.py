"""DetectorSpec.identity: content, not location; every score-deciding setting, nothing else."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tiny_models
import torch
from tiny_models import HIDDEN

from audiostress.detectors import DetectorError, DetectorSpec
from audiostress.detectors.fingerprint import checkpoint_fingerprint, hf_dir_sha256

HERE = Path(__file__).parent
INPUT = {"length": 16000}
OUTPUT = {"kind": "logits", "fake_index": 0}


def _place(folder: Path, ckpt: Path) -> DetectorSpec:
    """The tiny factory file and its checkpoint copied into `folder`, parsed from there."""
    folder.mkdir(parents=True)
    shutil.copy(HERE / "tiny_models.py", folder / "tiny_models.py")
    shutil.copy(ckpt, folder / "weights.pt")
    return DetectorSpec.parse(
        f"{folder / 'tiny_models.py'}:build_plain", checkpoint=folder / "weights.pt", kwargs={"hidden": HIDDEN},
        input=INPUT, output=OUTPUT,
    )  # fmt: skip


def test_a_copy_at_another_path_has_the_same_identity_and_no_path_in_it(tmp_path, tiny_ckpt):
    here, there = _place(tmp_path / "a", tiny_ckpt), _place(tmp_path / "b" / "deeper", tiny_ckpt)
    assert here.target != there.target and here.identity() == there.identity()
    ident = here.identity()
    assert str(tmp_path) not in json.dumps(ident)
    assert ident["kind"] == "factory" and ident["factory"] == "tiny_models.py:build_plain"
    assert len(ident["source_sha256"]) == 64 and len(ident["checkpoint_sha256"]) == 64
    assert ident["input"]["length"] == 16000 and ident["input"]["pad"] == "repeat"  # effective, after defaults
    assert ident["output"] == {"kind": "logits", "fake_index": 0, "higher_is_fake": None, "select": None,
                               "score_index": None, "fake_label": None, "num_classes": None,
                               "threshold": None}  # fmt: skip


def test_one_changed_checkpoint_byte_or_source_byte_changes_the_identity(tmp_path, tiny_ckpt):
    spec = _place(tmp_path / "a", tiny_ckpt)
    before = spec.identity()
    weights = tmp_path / "a" / "weights.pt"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0x01
    weights.write_bytes(bytes(data))
    after = spec.identity()
    assert after["checkpoint_sha256"] != before["checkpoint_sha256"]
    assert {k: v for k, v in after.items() if k != "checkpoint_sha256"} == {
        k: v for k, v in before.items() if k != "checkpoint_sha256"
    }
    source = tmp_path / "a" / "tiny_models.py"
    source.write_text(source.read_text() + "\n# edited\n")
    assert spec.identity()["source_sha256"] != after["source_sha256"]


def test_display_and_placement_settings_stay_out_and_score_settings_count(tiny_spec, tiny_ckpt):
    base = DetectorSpec.parse(tiny_spec, checkpoint=tiny_ckpt, input=INPUT, output=OUTPUT)
    same = DetectorSpec.parse(base, name="renamed", batch_size=3, trust_checkpoint=True)
    assert same.identity() == base.identity()
    assert DetectorSpec.parse(base, precision="bf16").identity()["precision"] == "bf16"
    assert DetectorSpec.parse(base, kwargs={"hidden": HIDDEN}).identity()["kwargs"] == {"hidden": HIDDEN}
    assert DetectorSpec.parse(base, input={"crop": "center"}).identity() != base.identity()


def test_identity_without_a_detector_equals_identity_with_the_loaded_one(tmp_path, tiny_spec, tiny_ckpt, tiny_ref, audio_batch):
    factory = DetectorSpec.parse(tiny_spec, checkpoint=tiny_ckpt, input=INPUT, output=OUTPUT)
    assert factory.identity() == factory.identity(factory.load())
    path = tmp_path / "tiny.ts"
    torch.jit.save(torch.jit.trace(tiny_ref, audio_batch[:2]), str(path))
    ts = DetectorSpec.parse(f"torchscript:{path}", input=INPUT, output=OUTPUT)
    assert ts.identity() == ts.identity(ts.load())
    copy = tmp_path / "elsewhere" / "renamed.ts"
    copy.parent.mkdir()
    shutil.copy(path, copy)
    assert DetectorSpec.parse(f"torchscript:{copy}", input=INPUT, output=OUTPUT).identity() == ts.identity()


def test_onnx_identity_holds_the_graph_default_length(tmp_path, tiny_ref, audio_batch):
    pytest.importorskip("onnxruntime")
    path = tmp_path / "tiny.onnx"
    torch.onnx.export(tiny_ref, (audio_batch[:2],), str(path), input_names=["audio"], output_names=["logits"],
                      dynamic_axes={"audio": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)  # fmt: skip
    spec = DetectorSpec.parse(f"onnx:{path}", output=OUTPUT)
    ident = spec.identity()
    assert ident["input"]["length"] == 16000 and ident["onnxruntime"] and len(ident["model_sha256"]) == 64
    assert ident == spec.identity(spec.load())


def test_callable_identity_follows_the_module_weights():
    a = DetectorSpec.parse(tiny_models.reference(HIDDEN, 7), output=OUTPUT)
    b = DetectorSpec.parse(tiny_models.reference(HIDDEN, 7), output=OUTPUT)
    c = DetectorSpec.parse(tiny_models.reference(HIDDEN, 8), output=OUTPUT)
    assert a.identity() == b.identity() and a.identity()["callable"] == "python:tiny_models.TinyNet"
    assert a.identity()["state_sha256"] != c.identity()["state_sha256"]


def test_hf_directory_hash_covers_configs_and_weights_only(tmp_path):
    (tmp_path / "config.json").write_text('{"a": 1}')
    (tmp_path / "model.safetensors").write_bytes(b"\x00\x01")
    first = hf_dir_sha256(tmp_path)
    (tmp_path / "README.md").write_text("notes")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD.json").write_text("{}")
    assert hf_dir_sha256(tmp_path) == first
    (tmp_path / "preprocessor_config.json").write_text('{"sampling_rate": 16000}')
    assert hf_dir_sha256(tmp_path) != first
    assert hf_dir_sha256(tmp_path / "missing") is None


def test_hf_identity_holds_the_fake_class_from_id2label_and_follows_content(tmp_path):
    pytest.importorskip("transformers")
    tiny_models.save_tiny_hf(tmp_path / "a", {0: "bonafide", 1: "spoof"})
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / "README.md").write_text("a model card")
    here = DetectorSpec.parse(f"hf:{tmp_path / 'a'}")
    ident = here.identity()
    assert ident["output"]["fake_index"] == 1 and ident["input"]["sample_rate"] == 16000 and ident["transformers"]
    assert ident == DetectorSpec.parse(f"hf:{tmp_path / 'b'}").identity() == here.identity(here.load())


def test_a_checkpoint_that_names_no_file_is_kept_as_a_reference(tmp_path):
    assert checkpoint_fingerprint("hub-model-name") == {"checkpoint_sha256": None, "checkpoint_ref": "hub-model-name"}
    assert checkpoint_fingerprint(None) == {"checkpoint_sha256": None}
    (tmp_path / "w.pt").write_bytes(b"abc")
    digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # sha256("abc")
    assert checkpoint_fingerprint(str(tmp_path / "w.pt")) == {"checkpoint_sha256": digest}


def test_a_missing_model_file_cannot_be_fingerprinted(tmp_path):
    spec = DetectorSpec.parse(f"torchscript:{tmp_path / 'gone.ts'}", input=INPUT)
    with pytest.raises(DetectorError, match=r"cannot fingerprint .*gone.ts: it does not exist"):
        spec.identity()
