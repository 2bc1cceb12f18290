"""The plan of a sweep: which (clip, cell) pairs to score, with which seed, in which order.

Work is keyed, not positional: the seed of a pair is
``derive_seed(sweep_seed, clip_id, cell_id)``, never its place in a batch, so a
pair gives the same bytes whatever the batch size, worker count, shard or
resume point. Clips keep the dataset's order; cells keep the grid's order.
``--shard i/N`` keeps the clips whose stable hash of ``clip_id`` falls in
shard ``i`` (1-based), so a clip's clean and corrupted cells stay together.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..seeding import derive_seed

_SHARD_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, clip_id: str) -> bool:
        """Whether ``clip_id`` belongs to this shard (stable hash, independent of the process)."""
        return shard_of(clip_id, self.count) == self.index


def parse_shard(text: str | Shard | None) -> Shard | None:
    """``"2/4"`` -> ``Shard(2, 4)``; ``None`` stays ``None``."""
    if text is None or isinstance(text, Shard):
        return text
    m = _SHARD_RE.match(str(text))
    if not m:
        raise ValueError(f"Expected --shard as I/N (e.g. 1/4), got {text!r}")
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"Expected shard index in 1..{max(count, 1)} for --shard {text}, got {index}")
    return Shard(index, count)


def shard_of(clip_id: str, count: int) -> int:
    """The 1-based shard a clip falls in, from a BLAKE2b hash of its id."""
    digest = hashlib.blake2b(clip_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % count + 1


def pair_seed(sweep_seed: int, clip_id: str, cell_id: str) -> int:
    """The seed of one (clip, cell) pair (DESIGN.md: derived from sweep seed, clip id, cell id)."""
    return derive_seed(int(sweep_seed), clip_id, cell_id)


@dataclass(frozen=True)
class Unit:
    """One unit of work: score ``clip_index`` of the plan under ``cell_id``."""

    clip_index: int
    clip_id: str
    cell_id: str
    seed: int


@dataclass
class Plan:
    """Clips (already sharded) × cells, minus the pairs the store already holds."""

    clips: list[Any]
    cell_ids: list[str]
    seed: int
    done: frozenset[tuple[str, str]] = frozenset()

    @property
    def total(self) -> int:
        return len(self.clips) * len(self.cell_ids)

    @property
    def pending(self) -> int:
        return self.total - sum(1 for c in self.clips for k in self.cell_ids if (c.clip_id, k) in self.done)

    def units(self, clip_index: int) -> list[Unit]:
        """The pending units of one clip, in grid order."""
        clip = self.clips[clip_index]
        return [
            Unit(clip_index, clip.clip_id, k, pair_seed(self.seed, clip.clip_id, k))
            for k in self.cell_ids
            if (clip.clip_id, k) not in self.done
        ]

    def chunks(self, size: int) -> Iterator[list[int]]:
        """Clip indices with pending work, ``size`` at a time, in dataset order."""
        if size < 1:
            raise ValueError(f"Expected a chunk size >= 1, got {size}")
        chunk: list[int] = []
        for i, clip in enumerate(self.clips):
            if all((clip.clip_id, k) in self.done for k in self.cell_ids):
                continue
            chunk.append(i)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def make_plan(
    clips: Sequence[Any],
    cell_ids: Sequence[str],
    seed: int,
    *,
    shard: Shard | None = None,
    done: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
) -> Plan:
    """Select the shard's clips and drop finished pairs; order is dataset × grid order."""
    kept = [c for c in clips if shard is None or shard.holds(c.clip_id)]
    ids = [c.clip_id for c in kept]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ValueError(f"Duplicate clip_id {dup!r} in the dataset; clip ids must be unique")
    return Plan(kept, list(cell_ids), int(seed), frozenset(done))
