"""``load_detector``: one entry point for every spec form (card, factory, TorchScript, ONNX, HF, callable)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from .base import Detector, DetectorLoadError
from .card import CardError, is_card, read_card
from .factory import load_callable, load_factory
from .huggingface import load_hf
from .loaded import Loaded
from .onnx import load_onnx
from .spec import InputSpec, OutputSpec
from .torchscript import load_torchscript


def _device(device: str | torch.device, name: str) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise DetectorLoadError(name, f"Expected `device` such as cpu, cuda or cuda:1, got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DetectorLoadError(name, f"device {device!r} requested but CUDA is not available; use --device cpu")
    return dev


def _merge(defaults: Mapping[str, Any], user: Mapping[str, Any] | None) -> dict[str, Any]:
    """User keys override loader defaults, except that a user null never erases a loader value."""
    merged = dict(defaults)
    for key, value in (user or {}).items():
        if value is None and merged.get(key) is not None:
            continue
        merged[key] = value
    return merged


def load_detector(
    spec: str | os.PathLike[str] | Callable[..., Any] | nn.Module,
    *,
    checkpoint: str | None = None,
    kwargs: dict[str, Any] | None = None,
    input: dict[str, Any] | None = None,
    output: dict[str, Any] | None = None,
    name: str | None = None,
    device: str = "cpu",
    precision: str = "fp32",
    batch_size: int = 16,
    trust_checkpoint: bool = False,
) -> Detector:
    """Load a detector from a spec string, a YAML card, or a Python callable / ``nn.Module``.

    With a card (``*.yaml``/``*.yml``) the card's values are defaults and every
    explicit non-None argument overrides the matching card key (``kwargs``,
    ``input`` and ``output`` are merged key by key). Raises ``DetectorLoadError``
    (a ``DetectorError``) for a spec that cannot be loaded and ``ValueError`` for
    invalid settings, each naming the key and the allowed values.
    """
    card: dict[str, Any] = {}
    if is_card(spec):
        card = read_card(spec)
        spec = card["detector"]
        checkpoint = checkpoint if checkpoint is not None else card["checkpoint"]
        kwargs = {**card["kwargs"], **(kwargs or {})}
        input = {**card["input"], **(input or {})}
        output = {**card["output"], **(output or {})}
        name = name if name is not None else card["name"]
    label = name or (spec if isinstance(spec, str) else getattr(spec, "__name__", type(spec).__name__))
    dev = _device(device, str(label))
    user_out = dict(output or {})
    loaded = _dispatch(spec, checkpoint, kwargs, user_out, name, dev, trust_checkpoint)
    try:
        in_spec = InputSpec.from_mapping(_merge(loaded.input, input))
        out_spec = OutputSpec.from_mapping(_merge(loaded.output, user_out))
    except ValueError as exc:
        raise CardError(f"{card['card']}: {exc}" if card else str(exc)) from exc
    if out_spec.fake_label is not None and loaded.provenance.get("loader") != "hf":
        raise CardError("`output.fake_label` only works with hf: specs (they carry id2label); use `output.fake_index`")
    provenance = dict(loaded.provenance)
    provenance["card"] = card.get("card")
    return Detector(
        loaded.forward,
        name=name or loaded.name,
        input=in_spec,
        output=out_spec,
        device=dev,
        precision=precision,
        batch_size=batch_size,
        provenance=provenance,
    )


def _dispatch(
    spec: Any,
    checkpoint: str | None,
    kwargs: dict[str, Any] | None,
    output: dict[str, Any],
    name: str | None,
    dev: torch.device,
    trust: bool,
) -> Loaded:
    if not isinstance(spec, (str, os.PathLike)):
        if not callable(spec):
            raise DetectorLoadError(str(name), f"expected a spec string, a card path or a callable, got {type(spec).__name__}")
        if kwargs:
            raise DetectorLoadError(str(name or spec), "`kwargs` apply only to factory specs (file.py:build)")
        return load_callable(spec, checkpoint=checkpoint, trust_checkpoint=trust, device=dev, name=name)
    text = str(spec)
    for prefix in ("torchscript:", "onnx:", "hf:"):
        if text.startswith(prefix):
            who = name or text
            if checkpoint is not None:
                raise DetectorLoadError(who, f"`checkpoint` does not apply to {prefix} specs; the model file is the spec")
            if kwargs:
                raise DetectorLoadError(who, f"`kwargs` do not apply to {prefix} specs; they go to factory specs only")
            path = text[len(prefix) :]
            if prefix == "torchscript:":
                return load_torchscript(path, device=dev, name=name)
            if prefix == "onnx:":
                return load_onnx(path, device=dev, name=name)
            return load_hf(path, device=dev, name=name, fake_index=output.get("fake_index"), fake_label=output.get("fake_label"))
    return load_factory(text, checkpoint=checkpoint, kwargs=kwargs, trust_checkpoint=trust, device=dev, name=name)
