"""``load_detector``: one entry point for every spec form (card, factory, TorchScript, ONNX, HF, callable)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .base import Detector
from .detector_spec import DetectorSpec


def load_detector(
    spec: str | os.PathLike[str] | Callable[..., Any] | nn.Module | DetectorSpec,
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    kwargs: dict[str, Any] | None = None,
    input: dict[str, Any] | None = None,
    output: dict[str, Any] | None = None,
    name: str | None = None,
    device: str | torch.device | None = None,
    precision: str | None = None,
    batch_size: int | None = None,
    trust_checkpoint: bool | None = None,
) -> Detector:
    """Load a detector from a spec string, a YAML card, a Python callable / ``nn.Module`` or a ``DetectorSpec``.

    Shorthand for ``DetectorSpec.parse(spec, ...).load()``; the detector's ``.spec``
    is that parsed spec. With a card (``*.yaml``/``*.yml``) the card's values are
    defaults and every explicit non-None argument overrides the matching card key
    (``kwargs``, ``input`` and ``output`` are merged key by key). Unset ``device``,
    ``precision``, ``batch_size`` and ``trust_checkpoint`` mean cpu, fp32, 16 and
    False. Raises ``DetectorLoadError`` (a ``DetectorError``) for a spec that cannot
    be loaded and ``ValueError`` for invalid settings, each naming the key and the
    allowed values.
    """
    return DetectorSpec.parse(
        spec, checkpoint=checkpoint, kwargs=kwargs, input=input, output=output, name=name, device=device,
        precision=precision, batch_size=batch_size, trust_checkpoint=trust_checkpoint,
    ).load()  # fmt: skip
