"""DetectorSpec: one parse for every spec form, merged like load_detector, picklable into another process."""

from __future__ import annotations

import copy
import multiprocessing
import pickle
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import tiny_models
import torch
import yaml
from tiny_models import HIDDEN

from audiostress.detectors import DetectorError, DetectorSpec, load_detector

HERE = Path(__file__).parent
INPUT = {"length": 16000}
OUTPUT = {"kind": "logits", "fake_index": 0}


def _write_card(folder: Path, **keys) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "card.yaml"
    path.write_text(yaml.safe_dump(keys))
    return path


def test_a_relative_file_spec_and_checkpoint_resolve_against_the_working_directory(tmp_path, monkeypatch, tiny_ckpt):
    shutil.copy(HERE / "tiny_models.py", tmp_path / "tiny_copy.py")
    monkeypatch.chdir(tmp_path)
    spec = DetectorSpec.parse("tiny_copy.py:build_plain", checkpoint="tiny.pt", kwargs={"hidden": HIDDEN})
    assert spec.kind == "factory"
    assert spec.target == f"{tmp_path.resolve() / 'tiny_copy.py'}:build_plain"
    assert spec.checkpoint == str(tmp_path.resolve() / "tiny.pt") == str(tiny_ckpt.resolve())
    assert (spec.device, spec.precision, spec.batch_size, spec.trust_checkpoint, spec.card) == ("cpu", "fp32", 16, False, None)


def test_every_spec_form_names_its_kind_and_an_absolute_target(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert DetectorSpec.parse("torchscript:m.ts").target == str(tmp_path.resolve() / "m.ts")
    assert DetectorSpec.parse("onnx:sub/m.onnx").kind == "onnx"
    hf = DetectorSpec.parse("hf:model_dir")
    assert (hf.kind, hf.target, hf.text) == ("hf", str(tmp_path.resolve() / "model_dir"), f"hf:{tmp_path.resolve() / 'model_dir'}")
    pkg = DetectorSpec.parse("audiostress.demo.detector:build")
    assert (pkg.kind, pkg.target) == ("factory", "audiostress.demo.detector:build")
    fn = DetectorSpec.parse(tiny_models.build_plain)
    assert (fn.kind, fn.target, fn.text) == ("callable", tiny_models.build_plain, "python:tiny_models.build_plain")


def test_malformed_and_misapplied_specs_are_refused_at_parse(tmp_path):
    with pytest.raises(ValueError, match=r"path/to/model.py:build.*'no_colon'"):
        DetectorSpec.parse("no_colon")
    with pytest.raises(DetectorError, match="`checkpoint` does not apply to onnx: specs"):
        DetectorSpec.parse("onnx:m.onnx", checkpoint="w.pt")
    with pytest.raises(DetectorError, match="`kwargs` do not apply to hf: specs"):
        DetectorSpec.parse("hf:d", kwargs={"a": 1})
    with pytest.raises(DetectorError, match="`kwargs` apply only to factory specs"):
        DetectorSpec.parse(tiny_models.build_plain, kwargs={"hidden": 4})
    with pytest.raises(DetectorError, match="expected a spec string, a card path or a callable, got int"):
        DetectorSpec.parse(3)
    with pytest.raises(ValueError, match=r"Expected `precision` in \{fp32, bf16, fp16\}, got 'fp64'"):
        DetectorSpec.parse("m.py:build", precision="fp64")
    with pytest.raises(DetectorError, match="Expected `device` such as cpu"):
        DetectorSpec.parse("m.py:build", device="gpu0")
    card = _write_card(tmp_path, detector="no_colon")
    with pytest.raises(ValueError, match=rf"{card.resolve()}: Expected a detector spec"):
        DetectorSpec.parse(card)


def test_a_card_is_merged_with_explicit_arguments_key_by_key(tmp_path, tiny_ckpt):
    card = _write_card(
        tmp_path / "m", name="card-name", detector="tiny_copy.py:build_plain", checkpoint="../tiny.pt",
        kwargs={"hidden": HIDDEN}, input={"length": 8000, "pad": "zero"}, output={"kind": "logits", "fake_index": 1},
    )  # fmt: skip
    spec = DetectorSpec.parse(card, input={"length": 16000}, output={"fake_index": 0}, batch_size=3)
    assert spec.card == str(card.resolve()) and spec.name == "card-name"
    assert spec.target == f"{(tmp_path / 'm').resolve() / 'tiny_copy.py'}:build_plain"
    assert spec.checkpoint == str(tiny_ckpt.resolve())
    assert spec.input == {"length": 16000, "pad": "zero"} and spec.output == {"kind": "logits", "fake_index": 0}
    assert spec.kwargs == {"hidden": HIDDEN} and spec.batch_size == 3
    assert DetectorSpec.parse(card, name="explicit").name == "explicit"
    shutil.copy(HERE / "tiny_models.py", tmp_path / "m" / "tiny_copy.py")
    det = spec.load()
    assert (det.name, det.input.length, det.input.pad, det.output.fake_index, det.batch_size) == ("card-name", 16000, "zero", 0, 3)


def test_an_existing_spec_keeps_its_settings_unless_an_argument_overrides_them(tiny_spec):
    base = DetectorSpec.parse(tiny_spec, input=INPUT, device="cpu", precision="bf16", batch_size=4)
    assert DetectorSpec.parse(base) == base
    assert DetectorSpec.parse(base, device=torch.device("cpu")).device == "cpu"
    changed = DetectorSpec.parse(base, input={"pad": "zero"}, batch_size=2)
    assert changed.input == {"length": 16000, "pad": "zero"} and changed.batch_size == 2
    assert changed.precision == "bf16" and changed.target == base.target


def test_load_is_load_detector_and_the_detector_keeps_its_spec(tiny_spec, tiny_ckpt, audio_batch):
    spec = DetectorSpec.parse(tiny_spec, checkpoint=tiny_ckpt, kwargs={"hidden": HIDDEN}, input=INPUT, output=OUTPUT)
    det = spec.load()
    other = load_detector(tiny_spec, checkpoint=str(tiny_ckpt), kwargs={"hidden": HIDDEN}, input=INPUT, output=OUTPUT)
    assert det.spec is spec and other.spec == spec
    assert torch.equal(det(audio_batch).raw_score, other(audio_batch).raw_score)
    info = det.describe()
    assert info == other.describe()
    assert {"name", "spec", "loader", "checkpoint", "checkpoint_sha256", "kwargs", "input", "output", "card",
            "precision", "device", "batch_size"} <= set(info)  # fmt: skip
    assert info["name"] == "tiny_models:build_plain" and info["spec"] == spec.text and info["loader"] == "factory"


def test_describe_is_the_provenance_view_with_paths(tiny_spec, tiny_ckpt):
    spec = DetectorSpec.parse(tiny_spec, checkpoint=tiny_ckpt, name="tiny", device="cpu", batch_size=5)
    assert spec.describe() == {
        "kind": "factory", "spec": str(HERE.resolve() / "tiny_models.py") + ":build_plain",
        "checkpoint": str(tiny_ckpt.resolve()), "kwargs": {}, "input": {}, "output": {}, "name": "tiny",
        "device": "cpu", "precision": "fp32", "batch_size": 5, "trust_checkpoint": False, "card": None,
    }  # fmt: skip


def test_a_pickled_string_spec_scores_bitwise_identically_in_a_spawned_process(tiny_spec, tiny_ckpt, audio_batch):
    spec = DetectorSpec.parse(tiny_spec, checkpoint=tiny_ckpt, kwargs={"hidden": HIDDEN}, input=INPUT, output=OUTPUT)
    payload = pickle.dumps(spec)
    assert pickle.loads(payload) == spec
    here = spec.load().score([a.unsqueeze(0) for a in audio_batch], 16000, clip_ids=[str(i) for i in range(5)])
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        raw, p = pool.submit(tiny_models.score_pickled_spec, payload, audio_batch, torch.get_num_threads()).result(timeout=300)
    assert raw == here.raw_score.numpy().tobytes() and p == here.p_fake.numpy().tobytes()


def test_a_callable_spec_pickles_only_when_its_callable_does(audio_batch):
    module_level = DetectorSpec.parse(tiny_models.reference(HIDDEN, 7), input=INPUT, output=OUTPUT)
    back = pickle.loads(pickle.dumps(module_level))
    assert torch.equal(back.load()(audio_batch).p_fake, module_level.load()(audio_batch).p_fake)
    local = DetectorSpec.parse(lambda x: x.mean(dim=1), output={"kind": "score", "higher_is_fake": True})
    with pytest.raises(pickle.PicklingError, match=r"cannot be pickled.*`path/to/model.py:build`.*multi-process"):
        pickle.dumps(local)
    assert copy.copy(local) == local and copy.deepcopy(local).target is local.target  # copying never pickles
