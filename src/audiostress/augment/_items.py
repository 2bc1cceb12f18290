"""Reading one item of the wrapped dataset: a path, an ``(audio, sample_rate)`` pair, a dict or a ``Clip``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..audio import load, resample
from ..data import normalise_label


@dataclass(frozen=True)
class RawItem:
    """One loaded item: float32 ``[C, T]`` at ``sample_rate``, its label and clip id (None when unknown)."""

    audio: Tensor
    sample_rate: int
    label: Any
    clip_id: str | None


def _as_clip_tensor(audio: Any, where: str) -> Tensor:
    if isinstance(audio, np.ndarray):
        audio = torch.from_numpy(np.array(audio, dtype=np.float32, copy=True))
    if not isinstance(audio, Tensor) or not audio.is_floating_point():
        raise TypeError(f"{where}: expected float audio as a numpy array or tensor, got {type(audio).__name__}")
    if audio.dim() == 1:
        audio = audio.unsqueeze(0)
    if audio.dim() != 2 or audio.shape[-1] == 0:
        raise ValueError(f"{where}: expected audio shaped [T] or [C, T] with samples, got {tuple(audio.shape)}")
    return audio.detach().to("cpu", torch.float32)


def read_item(item: Any, where: str) -> RawItem:
    """Normalise what ``base[i]`` returned; errors name the item and the accepted forms."""
    if isinstance(item, (str, os.PathLike)):
        audio, rate = load(item)
        return RawItem(audio.float(), rate, None, Path(item).stem)
    if hasattr(item, "path") and hasattr(item, "clip_id"):  # an audiostress data.Clip
        audio, rate = load(item.path)
        return RawItem(audio.float(), rate, getattr(item, "label", None), str(item.clip_id))
    if isinstance(item, tuple) and len(item) == 2:
        audio, rate = item
        return RawItem(_as_clip_tensor(audio, where), int(rate), None, None)
    if isinstance(item, Mapping):
        clip_id = item.get("clip_id")
        if "audio" in item:
            if "sample_rate" not in item:
                raise ValueError(f"{where}: a dict item with `audio` needs `sample_rate`, got keys {sorted(item)}")
            audio, rate = _as_clip_tensor(item["audio"], where), int(item["sample_rate"])
        elif "path" in item:
            audio, rate = load(item["path"])
            clip_id = clip_id if clip_id is not None else Path(item["path"]).stem
        else:
            raise ValueError(f"{where}: a dict item needs `audio` (+ `sample_rate`) or `path`, got keys {sorted(item)}")
        return RawItem(audio.float(), rate, item.get("label"), None if clip_id is None else str(clip_id))
    raise TypeError(
        f"{where}: expected a path, an (audio, sample_rate) pair, a dict with audio/sample_rate/label "
        f"or an audiostress Clip, got {type(item).__name__}"
    )


def at_rate(item: RawItem, sample_rate: int) -> Tensor:
    """The item's audio resampled to ``sample_rate`` (unchanged when already there)."""
    if item.sample_rate == sample_rate:
        return item.audio
    return resample(item.audio, item.sample_rate, sample_rate).float()


def label_value(label: Any) -> Any:
    """``bonafide``/``spoof`` words become 0/1 (label 1 is spoof, as in every metric); other labels pass."""
    if isinstance(label, str):
        word = normalise_label(label)
        if word is not None:
            return int(word == "spoof")
    return label
