"""Load ``onnx:PATH`` through onnxruntime (optional extra ``onnx``).

The model's first input receives ``[B, T]`` float32 audio; its outputs come back
as numpy arrays (a single output, or a tuple for ``output.select``). A fixed
input length in the graph becomes the default ``input.length``. On a CUDA device
the CUDA execution provider is used when onnxruntime offers it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .base import DetectorLoadError
from .loaded import Loaded, sha256_of

INSTALL_HINT = 'pip install "audiostress[onnx]"'


def _import_onnxruntime(label: str) -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise DetectorLoadError(
            label, f"onnx: specs need onnxruntime, which is not installed; install it with {INSTALL_HINT}"
        ) from exc
    return onnxruntime


def load_onnx(path: str, *, device: torch.device, name: str | None = None) -> Loaded:
    """Open an onnxruntime session for the file; the forward converts torch <-> numpy."""
    p = Path(path)
    label = name or p.stem
    ort = _import_onnxruntime(label)
    if not p.is_file():
        raise DetectorLoadError(label, f"ONNX file {p} does not exist")
    providers = ["CPUExecutionProvider"]
    if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    try:
        session = ort.InferenceSession(str(p), providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types
        raise DetectorLoadError(label, f"onnxruntime cannot open {p}: {exc}") from exc
    inputs = session.get_inputs()
    if not inputs:
        raise DetectorLoadError(label, f"{p} declares no inputs; expected one [B, T] audio input")
    input_name = inputs[0].name
    n_outputs = len(session.get_outputs())

    def forward(x: Tensor) -> Any:
        feed = {input_name: x.detach().to("cpu", torch.float32).numpy()}
        outs = session.run(None, feed)
        arrays = [np.asarray(o) for o in outs]
        return arrays[0] if n_outputs == 1 else tuple(arrays)

    defaults: dict[str, Any] = {}
    shape = inputs[0].shape
    if len(shape) == 2 and isinstance(shape[1], int) and shape[1] > 0:
        defaults["length"] = int(shape[1])
    return Loaded(
        forward=forward,
        name=label,
        input=defaults,
        provenance={
            "spec": f"onnx:{p}",
            "loader": "onnx",
            "checkpoint": str(p),
            "checkpoint_sha256": sha256_of(p),
            "kwargs": {},
            "onnxruntime": getattr(ort, "__version__", None),
            "providers": list(session.get_providers()),
        },
    )
