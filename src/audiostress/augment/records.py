"""The ``applied`` record of a training item: what was done to it, as JSON-able data.

A record holds the node (``to_dict``), the seed its generator started from, the
crop, whether the item was augmented at all, and the steps that actually ran
with their drawn parameters (the trace, ``corruptions._trace``). From it,
``cell`` is a readable id of what ran (``clean``, ``mp3{bitrate_kbps=128}``,
``low_pass{...}+mp3{...}``) and ``codec`` the codec used, if any: log it, or use
it as an auxiliary domain label. ``reapply(record, clean)`` rebuilds the node
and runs it on the clean clip with the record's seed, reproducing the audio.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from ..corruptions import from_dict, get
from ..runners.grid import cell_id_for
from ..seeding import make_generator

#: Families whose step names the item's ``codec``.
CODEC_FAMILIES = ("codec", "neural_codec")


def _registered(name: str) -> Any:
    """The registered class called ``name``, or None (e.g. a wrapped audiomentations transform)."""
    from ..corruptions import available

    return get(name) if name in available() else None


def _explicit(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters that differ from ``name``'s declared defaults."""
    cls = _registered(name)
    defaults = {p.name: p.default for p in cls.params} if cls is not None else {}
    return {k: v for k, v in params.items() if k not in defaults or defaults[k] != v}


def step_id(step: Mapping[str, Any]) -> str:
    """``mp3{bitrate_kbps=128}``: a step written as an explicit-parameter cell id."""
    if step["corruption"] == "clean":
        return "clean"
    return cell_id_for(step["corruption"], None, _explicit(step["corruption"], step["params"]), None)


def describe_steps(steps: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``cell`` and ``codec`` of a list of steps (clean steps do not count)."""
    real = [s for s in steps if s["corruption"] != "clean"]
    codec = next((s["corruption"] for s in real if getattr(_registered(s["corruption"]), "family", None) in CODEC_FAMILIES), None)
    return {"cell": "+".join(step_id(s) for s in real) or "clean", "codec": codec}


def make_record(
    *,
    index: int,
    epoch: int | None,
    clip_id: str | None,
    node: dict[str, Any],
    seed: int,
    crop_start: int,
    length: int,
    applied: bool,
    steps: Sequence[Mapping[str, Any]],
    crop_after: bool = False,
) -> dict[str, Any]:
    """The record of one item (see the module docstring); every value is JSON-able."""
    record: dict[str, Any] = {
        "index": int(index),
        "epoch": epoch,
        "clip_id": clip_id,
        "seed": int(seed),
        "crop_start": int(crop_start),
        "length": int(length),
        "applied": bool(applied),
        "crop_after": bool(crop_after),
        "node": node,
        "steps": [dict(s) for s in steps],
    }
    record.update(describe_steps(record["steps"]))
    return record


def reapply(record: Mapping[str, Any], clean: Tensor, sample_rate: int) -> Tensor:
    """Run the record's node on the clean clip ``[C, T]`` (at the dataset rate, before cropping) with its seed.

    The record's crop is applied first (after the node when ``crop_after``: a
    ``CodecCache`` codes whole clips), so the result has the item's length. An item
    that was not augmented (``applied`` false) comes back as the clean crop.
    """
    start, n = int(record["crop_start"]), int(record["length"])
    x = clean.float() if record.get("crop_after") else clean[..., start : start + n].float()
    if record["applied"]:
        node = from_dict(dict(record["node"]))
        lengths = torch.tensor([x.shape[-1]], dtype=torch.long)
        x = node.apply_items(x.unsqueeze(0), sample_rate, [make_generator(int(record["seed"]))], lengths)[0]
    return x[..., start : start + n].clone() if record.get("crop_after") else x.clone()
