"""Content fingerprints of what a detector is made of, for ``DetectorSpec.identity``.

Every fingerprint depends on bytes, never on where a file sits: a copy of a model
at another path (another machine, mount point or working directory) fingerprints
the same, and a single changed byte fingerprints differently.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .loaded import sha256_of

#: Files of a Hugging Face directory that decide its scores: configs (model, feature
#: extractor) and weights. READMEs, licences and hidden folders (``.git``) are left out.
HF_IDENTITY_SUFFIXES = (".json", ".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack")


def file_sha256(path: str | Path) -> str | None:
    """SHA-256 of a file's bytes; None when it is not a file."""
    p = Path(path)
    return sha256_of(p) if p.is_file() else None


def hf_dir_sha256(path: str | Path) -> str | None:
    """SHA-256 over the config and weights files of a HF directory (relative names + contents).

    None when ``path`` is not a directory.
    """
    root = Path(path)
    if not root.is_dir():
        return None
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        rel = f.relative_to(root)
        if not f.is_file() or f.suffix.lower() not in HF_IDENTITY_SUFFIXES:
            continue
        if any(part.startswith(".") for part in rel.parts):
            continue
        h.update(rel.as_posix().encode("utf-8") + b"\0")
        h.update(str(sha256_of(f)).encode("ascii"))
    return h.hexdigest()


def checkpoint_fingerprint(checkpoint: str | None) -> dict[str, Any]:
    """``checkpoint_sha256`` of a checkpoint file or directory.

    A checkpoint that is not a file or directory (a factory may read a name of its
    own) cannot be hashed; it is then kept as written under ``checkpoint_ref``.
    """
    if checkpoint is None:
        return {"checkpoint_sha256": None}
    digest = sha256_of(checkpoint)
    if digest is None:
        return {"checkpoint_sha256": None, "checkpoint_ref": str(checkpoint)}
    return {"checkpoint_sha256": digest}


def module_state_sha256(model: nn.Module) -> str:
    """SHA-256 over an ``nn.Module``'s state dict: names, dtypes, shapes and raw bytes, sorted by name."""
    h = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        h.update(str(key).encode("utf-8") + b"\0")
        if isinstance(value, torch.Tensor):
            t = value.detach().to("cpu").contiguous()
            h.update(f"{t.dtype}{list(t.shape)}".encode("ascii"))
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        else:
            h.update(repr(value).encode("utf-8"))
    return h.hexdigest()


def distribution_version(*names: str) -> str | None:
    """The installed version of the first of ``names`` that is installed (e.g. ``onnxruntime``,
    ``onnxruntime-gpu``), or None."""
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None
