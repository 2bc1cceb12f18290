"""YAML detector cards: the shipped example, path resolution, overrides and validation errors."""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from audiostress.detectors import CardError, InputSpec, OutputSpec, card_schema, load_detector, read_card

EXAMPLES = Path(__file__).parents[2] / "examples"
#: Card-loaded detector vs the same model called directly: identical float32 ops.
SCORE_ATOL = 1e-6


def _example_module():
    spec = importlib.util.spec_from_file_location("example_my_model", EXAMPLES / "my_model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _copy_example(tmp_path: Path, **changes) -> Path:
    shutil.copy(EXAMPLES / "my_model.py", tmp_path / "my_model.py")
    card = yaml.safe_load((EXAMPLES / "detector_card.yaml").read_text())
    card.update(changes)
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump(card))
    return path


def test_example_card_loads_and_scores_like_the_model():
    det = load_detector(EXAMPLES / "detector_card.yaml")
    assert det.name == "tiny-aasist" and det.input.length == 64600 and det.output.select == 1
    x = torch.randn(3, 64600, generator=torch.Generator().manual_seed(0)) * 0.1
    with torch.no_grad():
        logits = _example_module().build(hidden=32)(x)[1].double()
    torch.testing.assert_close(det(x).p_fake, 1 - torch.softmax(logits, 1)[:, 1], atol=SCORE_ATOL, rtol=0)


def test_example_card_shows_every_key():
    card = yaml.safe_load((EXAMPLES / "detector_card.yaml").read_text())
    assert set(card) == {"name", "detector", "checkpoint", "kwargs", "input", "output"}
    assert set(card["input"]) == {f.name for f in dataclasses.fields(InputSpec)}
    assert set(card["output"]) == {f.name for f in dataclasses.fields(OutputSpec)}
    schema = card_schema()
    for section, cls in (("input", InputSpec), ("output", OutputSpec)):
        for f in dataclasses.fields(cls):
            assert f"{section}.{f.name}" in schema["keys"]
    assert yaml.safe_load(schema["example"])["detector"].endswith(":build")


def test_card_paths_are_relative_to_the_card_and_arguments_override(tmp_path):
    ref = _example_module().build(hidden=8)
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.05)
    torch.save(ref.state_dict(), tmp_path / "weights.pt")
    card = _copy_example(tmp_path, checkpoint="weights.pt", kwargs={"hidden": 8})
    info = read_card(card)
    assert info["checkpoint"] == str(tmp_path.resolve() / "weights.pt")
    assert info["detector"] == f"{tmp_path.resolve() / 'my_model.py'}:build"
    det = load_detector(card, input={"length": 16000}, name="override")
    assert det.name == "override" and det.input.length == 16000 and det.input.pad == "repeat"
    assert det.describe()["card"] == str(card.resolve())
    x = torch.randn(2, 16000, generator=torch.Generator().manual_seed(1)) * 0.1
    with torch.no_grad():
        logits = ref.eval()(x)[1].double()
    torch.testing.assert_close(det(x).p_fake, 1 - torch.softmax(logits, 1)[:, 1], atol=SCORE_ATOL, rtol=0)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"input": {"crop": "middle"}}, "`input.crop` in {first, center, random, windows}, got 'middle'"),
        ({"input": {"pad": "reflect"}}, "`input.pad` in {repeat, zero}"),
        ({"input": {"lenght": 5}}, "Unknown key `input.lenght`; allowed keys are sample_rate, channels, length"),
        ({"output": {"kind": "softmax"}}, "`output.kind` in {logits, probs, score}"),
        ({"output": {"kind": "score", "fake_index": None, "select": None}}, "`output.higher_is_fake: true|false`"),
        ({"output": {"higher_is_fake": "yes"}}, "`output.higher_is_fake` to be null, true or false"),
        ({"batch_size": 4}, "unknown key `batch_size`; allowed keys are name, detector"),
        ({"trust_checkpoint": True}, "pass --trust-checkpoint on the command line"),
        ({"detector": None}, "`detector` is required"),
        ({"kwargs": [1, 2]}, "expected `kwargs` to be a mapping"),
    ],
)
def test_card_validation_errors_name_key_and_allowed_values(tmp_path, changes, needle):
    card = _copy_example(tmp_path, **changes)
    with pytest.raises(CardError) as info:
        load_detector(card)
    assert needle in str(info.value) and str(card) in str(info.value)


def test_fake_label_outside_hf_is_rejected(tmp_path):
    card = _copy_example(tmp_path, output={"kind": "logits", "fake_index": 0, "select": 1, "fake_label": "spoof"})
    with pytest.raises(CardError, match="only works with hf"):
        load_detector(card)
