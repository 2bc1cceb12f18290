"""Calling a node on plain audio: ``node(audio, sample_rate, *, seed=0, lengths=None)``.

This module converts what a user holds (a numpy array or a torch tensor shaped
``[T]``, ``[C, T]`` or ``[B, C, T]``) to the ``[B, C, T]`` batch, per-item
generators and lengths that ``Node.apply_items`` takes, and converts the result
back to the input's type, dtype, device and shape.

Seeds follow the sweep. A single clip (``[T]`` or ``[C, T]``) is corrupted with
``make_generator(seed)``, exactly what the sweep uses for a (clip, cell) pair
whose pair seed is ``seed``, so ``node(x, sr, seed=pair_seed)`` gives the audio
the sweep scored for that pair (at the corruption rate). For a batch, ``seed``
is either one int, split into per-item generators with
``seeding.item_generators(make_generator(seed), B)``, or a sequence of ``B``
ints, item ``i`` using ``make_generator(seed[i])`` (so it equals that clip run
alone with ``seed=seed[i]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any, Protocol, TypeVar

import numpy as np
import torch
from torch import Tensor

from .._batch import normalise_lengths
from ..seeding import item_generators, make_generator

#: Audio a node can be called on; the result has the same type.
AudioT = TypeVar("AudioT", np.ndarray, Tensor)
#: One seed, or (for a batch) one seed per item.
SeedArg = int | Sequence[int]
LengthsArg = int | Sequence[int] | np.ndarray | Tensor | None

_MAX_SEED = 2**64 - 1
_NUMPY_FLOATS = (np.float16, np.float32, np.float64)


class AppliesItems(Protocol):
    """What ``call_node`` needs of a node (``base.Node`` satisfies it)."""

    def apply_items(
        self, audio: Tensor, sample_rate: int, generators: list[torch.Generator], lengths: Tensor
    ) -> Tensor: ...

    def label(self) -> str: ...


def as_audio_tensor(audio: object, who: str) -> Tensor:
    """``audio`` as a floating-point torch tensor (numpy arrays are copied; tensors are used as they are)."""
    if isinstance(audio, Tensor):
        if not audio.is_floating_point():
            raise TypeError(f"{who}: expected floating-point `audio`, got a tensor of dtype {audio.dtype}; convert it with audio.float()")
        return audio
    if isinstance(audio, np.ndarray):
        if audio.dtype.type not in _NUMPY_FLOATS:
            hint = " (int16 PCM: audio.astype(np.float32) / 32768)" if audio.dtype.kind in "iu" else ""
            raise TypeError(
                f"{who}: expected float16, float32 or float64 `audio`, got a numpy array of dtype {audio.dtype}; "
                f"convert it first{hint}"
            )
        native = audio.dtype.newbyteorder("=")
        return torch.from_numpy(np.array(audio, dtype=native, order="C", copy=True))
    raise TypeError(f"{who}: expected `audio` as a numpy array or a torch tensor, got {type(audio).__name__}")


def check_rate(sample_rate: object, who: str) -> int:
    """A positive integer sample rate (numpy integers accepted)."""
    if isinstance(sample_rate, (bool, np.bool_)) or not isinstance(sample_rate, Integral):
        raise TypeError(f"{who}: expected `sample_rate` as a positive int in Hz, got {sample_rate!r} ({type(sample_rate).__name__})")
    if int(sample_rate) <= 0:
        raise ValueError(f"{who}: expected a positive `sample_rate` in Hz, got {sample_rate!r}")
    return int(sample_rate)


def _one_seed(value: object, who: str, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral):
        raise TypeError(f"{who}: expected {what} as an int in 0..2**64-1, got {value!r} ({type(value).__name__})")
    if not 0 <= int(value) <= _MAX_SEED:
        raise ValueError(f"{who}: expected {what} in 0..2**64-1, got {value!r}")
    return int(value)


def generators_for(seed: object, batch_size: int, single: bool, who: str) -> list[torch.Generator]:
    """Per-item generators from ``seed`` (see the module docstring for the rules)."""
    if isinstance(seed, Tensor):
        seed = seed.tolist()
    if isinstance(seed, np.ndarray):
        seed = seed.tolist()
    if isinstance(seed, (list, tuple)):
        if single:
            raise TypeError(f"{who}: a single clip takes one int `seed`, got a sequence of {len(seed)}")
        if len(seed) != batch_size:
            raise ValueError(f"{who}: expected one `seed` per batch item ({batch_size}), got {len(seed)}")
        return [make_generator(_one_seed(s, who, f"`seed[{i}]`")) for i, s in enumerate(seed)]
    root = make_generator(_one_seed(seed, who, "`seed`"))
    return [root] if single else item_generators(root, batch_size)


def lengths_for(lengths: LengthsArg, batch: Tensor, single: bool, who: str) -> Tensor:
    """Valid-sample counts as a CPU LongTensor[B] (an int is accepted for a single clip)."""
    if lengths is None:
        return normalise_lengths(None, batch, who)
    if isinstance(lengths, (bool, np.bool_)):
        raise TypeError(f"{who}: expected `lengths` as ints of valid samples, got {lengths!r}")
    if isinstance(lengths, Integral):
        if not single:
            raise TypeError(f"{who}: a batch takes one `lengths` entry per item, got the single int {lengths!r}")
        lengths = [int(lengths)]
    values = torch.as_tensor(np.asarray(lengths) if not isinstance(lengths, Tensor) else lengths)
    if values.is_floating_point() or values.dtype == torch.bool:
        raise TypeError(f"{who}: expected integer `lengths`, got dtype {values.dtype}")
    return normalise_lengths(values, batch, who)


def call_node(
    node: AppliesItems, audio: AudioT, sample_rate: int, *, seed: SeedArg = 0, lengths: LengthsArg = None
) -> AudioT:
    """Corrupt ``audio`` with ``node``; same type, dtype, device and shape out (see the module docstring)."""
    who = node.label()
    tensor = as_audio_tensor(audio, who)
    if tensor.dim() not in (1, 2, 3):
        raise ValueError(f"{who}: expected `audio` shaped [T], [C, T] or [B, C, T], got shape {tuple(tensor.shape)}")
    if tensor.numel() == 0:
        raise ValueError(f"{who}: `audio` has no samples (shape {tuple(tensor.shape)})")
    rate = check_rate(sample_rate, who)
    single = tensor.dim() < 3
    batch = tensor.reshape(1, 1, -1) if tensor.dim() == 1 else tensor.unsqueeze(0) if single else tensor
    gens = generators_for(seed, batch.shape[0], single, who)
    lens = lengths_for(lengths, batch, single, who)
    out = node.apply_items(batch, rate, gens, lens).reshape(tensor.shape)
    if isinstance(audio, np.ndarray):
        result: Any = out.detach().cpu().numpy()
        return result  # type: ignore[no-any-return]
    return out  # type: ignore[return-value]
