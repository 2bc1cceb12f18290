"""Audio files from a user folder (noise recordings, room impulse responses), cached.

Shared by ``background_noise`` and ``reverb``. Listing is sorted so that a file
index drawn from a generator always names the same file, and done once per folder
per transform call; loaded audio is kept
in a small module-level LRU keyed by (path, modification time, sample rate).
The cached tensors are never modified in place.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor

from ..audio import load, resample

#: Extensions picked up from a folder (anything ``audiostress.audio.load`` reads).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus", ".aac")
#: How many (file, sample rate) pairs stay decoded in memory.
CACHE_SIZE = 64


def resolve_dir(owner: str, param: str, value: str | None, env_var: str) -> str:
    """The folder from ``value`` or, when it is None, from the ``env_var`` environment variable."""
    folder = value if value is not None else os.environ.get(env_var) or None
    if folder is None:
        raise ValueError(
            f"{owner} needs a folder of audio files: give `{param}` "
            f"(e.g. --param {param}=/path/to/folder) or set the {env_var} environment variable"
        )
    return folder


def list_audio(owner: str, param: str, folder: str) -> list[str]:
    """Sorted audio file paths directly inside ``folder``; raises if there are none."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"Expected `{param}` to be an existing folder for {owner}, got {folder!r}")
    files = sorted(str(p) for p in root.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
    if not files:
        raise ValueError(
            f"Expected audio files ({', '.join(AUDIO_EXTENSIONS)}) in `{param}` for {owner}, found none in {folder!r}"
        )
    return files


def draw_file(files: Sequence[str], generator: torch.Generator) -> str:
    """One of ``files``, drawn uniformly with one ``randint`` from ``generator``."""
    return files[int(torch.randint(len(files), (1,), generator=generator))]


def pick_file(
    owner: str, param: str, folder: str, generator: torch.Generator, listings: dict[str, list[str]]
) -> str:
    """A file of ``folder`` drawn from ``generator``; ``listings`` caches folder listings for
    one transform call, so a batch lists each folder once (not once per item)."""
    if folder not in listings:
        listings[folder] = list_audio(owner, param, folder)
    return draw_file(listings[folder], generator)


def load_at(path: str, sample_rate: int) -> Tensor:
    """``[C, T]`` float32 audio of ``path`` resampled to ``sample_rate`` (cached, CPU, read-only)."""
    return _load_at(path, os.stat(path).st_mtime_ns, int(sample_rate))


@lru_cache(maxsize=CACHE_SIZE)
def _load_at(path: str, mtime_ns: int, sample_rate: int) -> Tensor:
    audio, sr = load(path)
    return resample(audio, sr, sample_rate).contiguous()
