"""Stable seed derivation and explicit generators.

The library never touches global RNG state. Every random draw comes from a
``torch.Generator`` that the caller passes in, or that is derived here from a
seed with a stable hash, so the same (sweep seed, clip id, cell id) always gives
the same bytes whatever the batch size, worker count or shard.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch

Generators = Sequence[torch.Generator]

_SEED_BITS = 63


def derive_seed(*keys: object) -> int:
    """Derive a 63-bit seed from any number of keys with a stable hash.

    The hash is BLAKE2b over the ``repr`` of each key joined by a separator, so
    it does not depend on Python's randomised ``hash()`` or on the process.

    >>> derive_seed(0, "clip-1", "mp3@3") == derive_seed(0, "clip-1", "mp3@3")
    True
    >>> derive_seed(0, "clip-1", "mp3@3") != derive_seed(1, "clip-1", "mp3@3")
    True
    """
    h = hashlib.blake2b(digest_size=8)
    for key in keys:
        h.update(repr(key).encode("utf-8"))
        h.update(b"\x1f")
    return int.from_bytes(h.digest(), "little") & ((1 << _SEED_BITS) - 1)


def make_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``."""
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed))
    return gen


def fresh_generator() -> torch.Generator:
    """A CPU generator seeded from OS entropy (used only when the caller gave none)."""
    gen = torch.Generator(device="cpu")
    gen.seed()
    return gen


def item_generators(
    generator: torch.Generator | Generators | None, batch_size: int
) -> list[torch.Generator]:
    """Normalise a ``generator`` argument to one CPU generator per batch item.

    - a sequence: must hold exactly ``batch_size`` generators, used as they are;
    - a single generator: ``batch_size`` child seeds are drawn from it in order;
    - ``None``: as a single generator seeded from OS entropy (not reproducible).

    Pass one generator per item (as the sweep runner does) to make item ``i`` of
    a batch identical to the same clip run alone.
    """
    if generator is None:
        generator = fresh_generator()
    if isinstance(generator, torch.Generator):
        seeds = torch.randint(0, 2**_SEED_BITS - 1, (batch_size,), generator=generator)
        return [make_generator(int(s)) for s in seeds]
    gens = list(generator)
    if len(gens) != batch_size:
        raise ValueError(
            f"Expected one generator per batch item ({batch_size}), got {len(gens)}"
        )
    for g in gens:
        if not isinstance(g, torch.Generator):
            raise TypeError(f"Expected torch.Generator items, got {type(g).__name__}")
    return gens
