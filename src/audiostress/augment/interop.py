"""audiomentations interop, both ways (needs ``pip install "audiostress[augment]"``).

- ``as_audiomentations(node)``: an object with audiomentations' call convention,
  ``transform(samples, sample_rate)`` on numpy ``[T]`` or ``[C, T]`` with a ``p``, so
  an audiostress codec can sit inside an ``audiomentations.Compose``. Its draws come
  from its own seed and a call counter (call n uses ``derive_seed(seed, n)``),
  never from the global RNG.
- ``from_audiomentations(transform)``: any audiomentations transform as a node of an
  audiostress graph (CPU-placed, per item). audiomentations draws from the global
  ``random`` and ``np.random``; the node contains that: for each item it seeds both
  from the item's generator, runs the transform, and restores the previous global
  states afterwards, even on error. **This is the one place the library touches
  global RNG state**, and it leaves it as it found it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..corruptions import Node
from ..corruptions._trace import record_step
from ..seeding import derive_seed, make_generator

INSTALL_HINT = 'pip install "audiostress[augment]"'


def require_audiomentations() -> Any:
    """The audiomentations module, or an ImportError that names the extra to install."""
    try:
        import audiomentations
    except ImportError as exc:
        raise ImportError(f"audiomentations is not installed; the interop needs it: {INSTALL_HINT}") from exc
    return audiomentations


@contextmanager
def contained_global_rng(seed: int) -> Iterator[None]:
    """Seed ``random`` and ``np.random`` with ``seed`` inside the block; restore both global states after it."""
    py_state, np_state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def _fit(y: np.ndarray, channels: int, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32).reshape(channels, -1)
    if y.shape[-1] >= n:
        return y[:, :n]
    return np.pad(y, ((0, 0), (0, n - y.shape[-1])))


class AudiomentationsNode(Node):
    """An audiomentations transform inside an audiostress graph (see the module docstring)."""

    placement = "cpu"
    stochastic = True

    def __init__(self, transform: Any) -> None:
        require_audiomentations()
        if not callable(transform):
            raise TypeError(f"Expected an audiomentations transform, got {type(transform).__name__}")
        self.transform = transform

    def apply_items(self, audio: Tensor, sample_rate: int, generators: list[torch.Generator], lengths: Tensor) -> Tensor:
        out = torch.zeros_like(audio)
        for i, g in enumerate(generators):
            n = int(lengths[i])
            seed = int(torch.randint(0, 2**31 - 1, (1,), generator=g))
            if n == 0:
                continue
            x = audio[i, :, :n].detach().to("cpu", torch.float32).numpy().copy()
            with contained_global_rng(seed):
                y = self.transform(x[0] if x.shape[0] == 1 else x, sample_rate=sample_rate)
            out[i, :, :n] = torch.from_numpy(_fit(y, x.shape[0], n)).to(audio.device, audio.dtype)
        record_step_safe(self.label(), generators)
        return out

    def to_dict(self) -> dict[str, Any]:
        cls = type(self.transform)
        init: dict[str, Any] = getattr(self.transform, "get_transform_init_args", lambda: {})()
        return {"type": "audiomentations", "class": f"{cls.__module__}.{cls.__qualname__}",
                "init": {k: v for k, v in init.items() if isinstance(v, (int, float, str, bool, type(None)))}}

    def label(self) -> str:
        return f"audiomentations.{type(self.transform).__name__}"


def record_step_safe(name: str, generators: list[torch.Generator]) -> None:
    """Note the step in an open trace (``applied`` records); its parameters live in audiomentations."""
    record_step(name, "cpu", generators, {})


def from_audiomentations(transform: Any) -> Node:
    """Wrap ``transform`` (any audiomentations transform or Compose) as a node; global RNG use is contained.

    >>> from audiomentations import Gain
    >>> import numpy as np
    >>> node = from_audiomentations(Gain(min_gain_db=-6, max_gain_db=-6, p=1.0))
    >>> round(float(node(np.ones(4, np.float32), 16000, seed=1)[0]), 4)
    0.5012
    """
    return AudiomentationsNode(transform)


class AudiostressTransform:
    """``node`` with audiomentations' call convention: ``t(samples, sample_rate)``, applied with probability ``p``."""

    def __init__(self, node: Node, p: float = 1.0, seed: int = 0) -> None:
        if not isinstance(node, Node):
            raise TypeError(f"Expected an audiostress node (create(...)), got {type(node).__name__}")
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"Expected `p` in 0..1, got {p!r}")
        self.node, self.p, self.seed = node, float(p), int(seed)
        self.calls = 0

    def __call__(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        gen = make_generator(derive_seed(self.seed, self.calls))
        self.calls += 1
        if float(torch.rand((), generator=gen, dtype=torch.float64)) >= self.p:
            return samples
        out: np.ndarray = self.node(np.asarray(samples, dtype=np.float32), int(sample_rate),
                                    seed=int(torch.randint(0, 2**62, (1,), generator=gen)))
        return out

    def __repr__(self) -> str:
        return f"AudiostressTransform({self.node.label()}, p={self.p:g})"


def as_audiomentations(node: Node, p: float = 1.0, seed: int = 0) -> AudiostressTransform:
    """``node`` as an audiomentations-style transform (see the module docstring).

    >>> import numpy as np
    >>> from audiomentations import Compose
    >>> from audiostress.corruptions import create
    >>> t = as_audiomentations(create("gain", params={"gain_db": -6.0}))
    >>> round(float(Compose([t])(np.ones(4, np.float32), sample_rate=16000)[0]), 4)
    0.5012
    """
    require_audiomentations()
    return AudiostressTransform(node, p=p, seed=seed)
