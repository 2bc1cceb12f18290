"""Load ``hf:DIR``: a local Hugging Face audio classifier (optional extra ``hf``).

``AutoModelForAudioClassification`` and ``AutoFeatureExtractor`` are read from the
directory with ``local_files_only=True``: nothing is ever downloaded. The fake
class comes from ``output.fake_index``, else ``output.fake_label``, else the one
``config.id2label`` entry whose words name a fake class (see ``FAKE_WORDS``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .base import DetectorLoadError
from .loaded import Loaded, sha256_of

INSTALL_HINT = 'pip install "audiostress[hf]"'
#: Whole words (case-insensitive) that mark a label as the fake class.
FAKE_WORDS = frozenset({"fake", "fakes", "spoof", "spoofed", "spoofing", "ai", "deepfake", "deepfakes",
                        "synthetic", "synthesized", "synthesised", "generated", "tts", "vc"})


def is_fake_label(label: str) -> bool:
    """Whether a class name reads as fake/spoof/AI (``"AI-generated"`` yes, ``"said"`` no)."""
    words = [w for w in re.split(r"[^a-z0-9]+", str(label).lower()) if w]
    return any(w in FAKE_WORDS for w in words)


def find_fake_index(
    id2label: Mapping[Any, str], *, fake_index: int | None, fake_label: str | None, name: str
) -> int:
    """The fake class index from an explicit index, an explicit label, or label keywords."""
    labels = {int(k): str(v) for k, v in id2label.items()}
    listing = ", ".join(f"{k}: {v!r}" for k, v in sorted(labels.items()))
    if fake_index is not None:
        if fake_index not in labels:
            raise DetectorLoadError(name, f"`output.fake_index: {fake_index}` is not a class of this model ({listing})")
        return fake_index
    if fake_label is not None:
        hits = [k for k, v in labels.items() if v.lower() == fake_label.lower()]
        if not hits:
            raise DetectorLoadError(name, f"`output.fake_label: {fake_label!r}` is not one of the labels ({listing})")
        return hits[0]
    hits = sorted(k for k, v in labels.items() if is_fake_label(v))
    if len(hits) != 1:
        found = "no label" if not hits else f"{len(hits)} labels"
        raise DetectorLoadError(
            name,
            f"cannot tell the fake class from config.id2label ({listing}): {found} matched "
            f"{sorted(FAKE_WORDS)}; set `output.fake_index` or `output.fake_label`",
        )
    return hits[0]


def extractor_input(extractor: Any) -> dict[str, Any]:
    """InputSpec defaults a feature extractor implies: its ``sampling_rate`` and, when it
    works on a fixed number of samples (Whisper's ``n_samples``), that length with zero
    padding and a first crop (what the extractor itself does); otherwise the whole clip."""
    out: dict[str, Any] = {"sample_rate": int(getattr(extractor, "sampling_rate", None) or 16000)}
    n_samples = getattr(extractor, "n_samples", None)
    if isinstance(n_samples, int) and not isinstance(n_samples, bool) and n_samples > 0:
        out.update({"length": n_samples, "pad": "zero", "crop": "first"})
    return out


def load_hf(
    path: str,
    *,
    device: torch.device,
    name: str | None = None,
    fake_index: int | None = None,
    fake_label: str | None = None,
) -> Loaded:
    """Load the model and feature extractor from a local directory onto ``device``."""
    p = Path(path)
    label = name or p.name
    try:
        import transformers
        from transformers import AutoFeatureExtractor, AutoModelForAudioClassification
    except ImportError as exc:
        raise DetectorLoadError(
            label, f"hf: specs need transformers, which is not installed; install it with {INSTALL_HINT}"
        ) from exc
    if not (p / "config.json").is_file():
        raise DetectorLoadError(
            label, f"{p} is not a local Hugging Face model directory (no config.json); hf: never downloads"
        )
    try:
        model = AutoModelForAudioClassification.from_pretrained(str(p), local_files_only=True)
        extractor = AutoFeatureExtractor.from_pretrained(str(p), local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise DetectorLoadError(label, f"transformers cannot load {p}: {str(exc).splitlines()[0]}") from exc
    id2label = dict(getattr(model.config, "id2label", {}) or {})
    index = find_fake_index(id2label, fake_index=fake_index, fake_label=fake_label, name=label)
    model.to(device)
    model.eval()
    defaults = extractor_input(extractor)
    sample_rate = int(defaults["sample_rate"])

    def forward(x: Tensor) -> Tensor:
        arrays = [row.detach().to("cpu", torch.float32).numpy() for row in x]
        feats = extractor(arrays, sampling_rate=sample_rate, return_tensors="pt", padding=True)
        feats = {k: v.to(device) for k, v in feats.items() if isinstance(v, Tensor)}
        return model(**feats).logits

    return Loaded(
        forward=forward,
        name=label,
        input=defaults,
        output={"kind": "logits", "fake_index": index, "fake_label": None},
        provenance={
            "spec": f"hf:{p}",
            "loader": "hf",
            "checkpoint": str(p),
            "checkpoint_sha256": sha256_of(p),
            "kwargs": {},
            "id2label": {int(k): str(v) for k, v in id2label.items()},
            "fake_class": id2label.get(index),
            "transformers": transformers.__version__,
        },
    )
