"""The YAML detector card: spec, checkpoint, factory kwargs, InputSpec, OutputSpec and a name.

Relative paths in a card (the model file, ``torchscript:``/``onnx:``/``hf:`` targets
and ``checkpoint``) are resolved against the card's folder. Validation errors name
the card, the key and the allowed values. ``trust_checkpoint`` is deliberately not a
card key: allowing code execution is a decision for the person running the command.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from .grammar import PREFIXES as PREFIXES  # re-exported: the spec prefixes
from .grammar import resolve_path, resolve_spec
from .spec import AGGREGATES, CHANNELS, CROPS, KINDS, PADS, InputSpec, OutputSpec

CARD_KEYS: dict[str, str] = {
    "name": "string; the detector's name in reports (default: derived from the spec)",
    "detector": "required; a spec (see specs above). Relative paths are relative to the card",
    "checkpoint": "path or null; weights for a factory spec (state dict, loaded weights_only)",
    "kwargs": "mapping; keyword arguments passed to the factory",
    "input.sample_rate": "positive integer Hz the model expects (default 16000; hf: from the feature extractor)",
    "input.channels": f"one of {', '.join(CHANNELS)} (default mean = downmix)",
    "input.length": "samples per model input, or null for whole clips (default null; AASIST-style: 64600; "
    "hf: from the feature extractor)",
    "input.pad": f"one of {', '.join(PADS)} for audio shorter than length (default repeat when a length is set)",
    "input.crop": f"one of {', '.join(CROPS)} for audio longer than length "
    "(default first when a length is set; random is seeded)",
    "input.hop": "window hop in samples for crop: windows, or null for hop = length",
    "input.aggregate": f"one of {', '.join(AGGREGATES)}: how window p_fake values combine per clip (default mean)",
    "output.kind": f"one of {', '.join(KINDS)} (default logits)",
    "output.fake_index": "column of the fake class in [B, K] logits/probs (AASIST-style, index 1 = bona fide: 0)",
    "output.higher_is_fake": "true, false or null; direction of a single score (required for kind: score)",
    "output.select": "index into a tuple output, or null (AASIST returns (hidden, logits): 1)",
    "output.score_index": "kind: score only; column of a [B, K] output that holds the score",
    "output.fake_label": "hf: only; the config.id2label name of the fake class",
    "output.num_classes": "integer >= 1 or null; columns the model returns per input (checked before the sweep)",
    "output.threshold": "number in [0, 1] or null; the card's operating point on p_fake",
}

SPECS: dict[str, str] = {
    "path/to/model.py:build": "a factory in a Python file; returns an nn.Module or callable taking [B, T] audio; "
    "receives `checkpoint` if it has that parameter, else a state dict is loaded into it",
    "pkg.module:build": "the same, from an importable module",
    "torchscript:PATH": "a TorchScript module (torch.jit.save)",
    "onnx:PATH": 'an ONNX model run by onnxruntime (pip install "audiostress[onnx]")',
    "hf:DIR": "a local Hugging Face AutoModelForAudioClassification directory with its feature extractor "
    '(pip install "audiostress[hf]"); never downloads; fake class from config.id2label',
    "CARD.yaml": "a detector card holding any spec plus the keys below; command-line flags override it",
}

EXAMPLE_CARD = """\
name: aasist-like
detector: my_model.py:build            # or pkg.module:build, torchscript:PATH, onnx:PATH, hf:DIR
checkpoint: weights.pt                 # relative to this card; a state dict (weights_only)
kwargs: {hidden: 32}                   # passed to build()
input:
  sample_rate: 16000
  channels: mean
  length: 64600                        # AASIST/RawNet2: first 64600 samples, repeat-padded
  pad: repeat
  crop: first                          # first | center | random | windows
  hop: null                            # windows only; null = length
  aggregate: mean                      # windows only; mean | max of p_fake
output:
  kind: logits                         # logits | probs | score
  fake_index: 0                        # AASIST logits: index 1 = bona fide, so fake = 0
  higher_is_fake: null                 # single-score models: direction
  select: 1                            # build() returns (hidden, logits)
  num_classes: 2                       # checked before the sweep; null = any
  threshold: null                      # optional operating point on p_fake
"""


class CardError(ValueError):
    """A detector card is malformed; the message names the card and the key."""


def card_schema() -> dict[str, Any]:
    """Specs, card keys (with allowed values) and an example card, for ``audiostress list --detectors``."""
    return {"specs": dict(SPECS), "keys": dict(CARD_KEYS), "example": EXAMPLE_CARD}


def is_card(spec: Any) -> bool:
    """Whether ``spec`` names a YAML card (``*.yaml`` / ``*.yml``)."""
    return isinstance(spec, (str, os.PathLike)) and str(spec).lower().endswith((".yaml", ".yml"))


def resolve_spec_paths(spec: str, base: Path) -> str:
    """Make the file part of a spec absolute relative to ``base`` (module specs are unchanged)."""
    return resolve_spec(spec, base)


def read_card(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse and validate a card; returns its keys with paths resolved against the card's folder."""
    p = Path(path)
    if not p.is_file():
        raise CardError(f"{p}: detector card not found")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CardError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(data, Mapping):
        raise CardError(f"{p}: expected a mapping of keys, got {type(data).__name__}")
    allowed = ("name", "detector", "checkpoint", "kwargs", "input", "output")
    for key in data:
        if key == "trust_checkpoint":
            raise CardError(
                f"{p}: `trust_checkpoint` cannot be set in a card; pass --trust-checkpoint on the "
                "command line (unpickling can execute arbitrary code, so it must be your decision)"
            )
        if key not in allowed:
            raise CardError(f"{p}: unknown key `{key}`; allowed keys are {', '.join(allowed)}")
    spec = data.get("detector")
    if not isinstance(spec, str) or not spec.strip():
        raise CardError(f"{p}: `detector` is required and must be a spec string such as `model.py:build`, got {spec!r}")
    base = p.resolve().parent
    out: dict[str, Any] = {"card": str(p.resolve()), "detector": resolve_spec_paths(spec.strip(), base)}
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise CardError(f"{p}: expected `name` to be a string, got {name!r}")
    out["name"] = name
    ckpt = data.get("checkpoint")
    if ckpt is not None and not isinstance(ckpt, str):
        raise CardError(f"{p}: expected `checkpoint` to be a path or null, got {ckpt!r}")
    out["checkpoint"] = None if ckpt is None else str(resolve_path(ckpt, base))
    for section in ("kwargs", "input", "output"):
        value = data.get(section) or {}
        if not isinstance(value, Mapping):
            raise CardError(f"{p}: expected `{section}` to be a mapping, got {value!r}")
        out[section] = dict(value)
    try:
        InputSpec.from_mapping(_fill(InputSpec, out["input"]))
        OutputSpec.from_mapping(_fill(OutputSpec, out["output"]))
    except ValueError as exc:
        raise CardError(f"{p}: {exc}") from exc
    return out


def _fill(cls: type, section: dict[str, Any]) -> dict[str, Any]:
    """Drop nulls for keys whose default is not null, so a partial section validates alone."""
    defaults = {f.name: f.default for f in fields(cls)}
    return {k: v for k, v in section.items() if not (v is None and defaults.get(k, None) is not None)}
