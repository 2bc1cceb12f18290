"""The plan of a sweep: which (clip, cell) pairs to score, with which seed, in which order.

Work is keyed, not positional: the seed of a pair is
``derive_seed(sweep_seed, clip_id, cell_id)``, never its place in a batch, so a
pair gives the same bytes whatever the batch size, worker count, shard or
resume point. Clips keep the dataset's order; cells keep the grid's order.

Clips are processed in *groups*: a clip's group is a stable hash of its
``clip_id`` modulo ``ceil(n_clips / group_clips)`` (n_clips of the whole
dataset, before sharding). ``group_clips`` follows the batch size
(``batching.group_clips_of``: about ``--batch-size`` windows per group; the
default ``GROUP_CLIPS`` is the grouping of a plan made without one). A group is
the unit of loading, device batching, detector calls (one per group and cell,
split only by the batch's sample cap) and sharding, so a device corruption and the
detector always see the same batch whatever the worker count, resume point or
shard: batched float kernels (FFTs, convolutions) round differently for
different batch compositions, and fixing the composition keeps results
bit-identical. ``--shard i/N`` keeps the groups with ``group % N == i - 1``, so
shards are picked by the stable hash of ``clip_id`` and a clip's clean and
corrupted cells stay in one shard.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..seeding import derive_seed

_SHARD_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
#: Clips per group on average when the caller gives no ``group_clips`` (the device batch and
#: detector call of one cell; memory holds two groups). Sweeps size groups by the batch size.
GROUP_CLIPS = 8


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, group: int) -> bool:
        """Whether clip group ``group`` belongs to this shard."""
        return group % self.count == self.index - 1


def parse_shard(text: str | Shard | None) -> Shard | None:
    """``"2/4"`` -> ``Shard(2, 4)``; ``None`` stays ``None``."""
    if text is None or isinstance(text, Shard):
        return text
    m = _SHARD_RE.match(str(text))
    if not m:
        raise ValueError(f"Expected --shard as I/N (e.g. 1/4), got {text!r}")
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1:
        raise ValueError(f"Expected the shard count N >= 1 in --shard I/N, got {text!r} (N = {count})")
    if not 1 <= index <= count:
        raise ValueError(f"Expected shard index in 1..{max(count, 1)} for --shard {text}, got {index}")
    return Shard(index, count)


def group_of(clip_id: str, n_groups: int) -> int:
    """The group a clip falls in, from a BLAKE2b hash of its id (independent of the process)."""
    digest = hashlib.blake2b(clip_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % n_groups


def n_groups_for(n_clips: int, group_clips: int = GROUP_CLIPS) -> int:
    return max(1, -(-n_clips // group_clips))


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
    groups: list[int] | None = None
    #: Groups of the whole dataset (before sharding); a shard takes whole groups.
    n_groups: int = 1
    #: Clips per group on average (``make_plan``'s ``group_clips``).
    group_clips: int = GROUP_CLIPS

    @property
    def total(self) -> int:
        return len(self.clips) * len(self.cell_ids)

    @property
    def pending(self) -> int:
        return self.total - sum(1 for c in self.clips for k in self.cell_ids if (c.clip_id, k) in self.done)

    def unit(self, clip_index: int, cell_id: str) -> Unit:
        """The unit of one (clip, cell) pair, with its seed (pending or not)."""
        clip_id = self.clips[clip_index].clip_id
        return Unit(clip_index, clip_id, cell_id, pair_seed(self.seed, clip_id, cell_id))

    def units(self, clip_index: int) -> list[Unit]:
        """The pending units of one clip, in grid order."""
        return [self.unit(clip_index, k) for k in self.cell_ids if self.is_pending(clip_index, k)]

    def is_pending(self, clip_index: int, cell_id: str) -> bool:
        return (self.clips[clip_index].clip_id, cell_id) not in self.done

    def pending_groups(self) -> Iterator[list[int]]:
        """Clip groups with pending work, in group order; each a list of clip indices in dataset order.

        A group is yielded whole (finished clips included) so device batches keep their composition.
        """
        groups = self.groups or [0] * len(self.clips)
        members: dict[int, list[int]] = {}
        for i, g in enumerate(groups):
            members.setdefault(g, []).append(i)
        for g in sorted(members):
            idx = members[g]
            if any(self.is_pending(i, k) for i in idx for k in self.cell_ids):
                yield idx


def make_plan(
    clips: Sequence[Any],
    cell_ids: Sequence[str],
    seed: int,
    *,
    shard: Shard | None = None,
    done: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
    group_clips: int = GROUP_CLIPS,
) -> Plan:
    """Group the clips, keep the shard's groups and mark finished pairs; order is dataset × grid order.

    ``group_clips`` is the average group size (``batching.group_clips_of`` sizes it
    by the batch size); it fixes every detector call's composition, so shards and
    resumes of one sweep must use the same value.
    """
    if isinstance(group_clips, bool) or not isinstance(group_clips, int) or group_clips < 1:
        raise ValueError(f"Expected `group_clips` to be a positive integer, got {group_clips!r}")
    ids = [c.clip_id for c in clips]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = ""
        for clip_id in ids:
            if clip_id in seen:
                dup = clip_id
                break
            seen.add(clip_id)
        raise ValueError(f"Duplicate clip_id {dup!r} in the dataset; clip ids must be unique")
    n_groups = n_groups_for(len(clips), group_clips)
    groups = [group_of(c.clip_id, n_groups) for c in clips]
    keep = [i for i, g in enumerate(groups) if shard is None or shard.holds(g)]
    return Plan(
        [clips[i] for i in keep], list(cell_ids), int(seed), frozenset(done), [groups[i] for i in keep], n_groups,
        group_clips,
    )  # fmt: skip


def empty_shard_warning(plan: Plan, shard: Shard | None, n_clips: int) -> str | None:
    """A warning when ``shard`` holds no clip (shards take whole groups of about ``plan.group_clips`` clips)."""
    if shard is None or plan.clips:
        return None
    return (
        f"shard {shard} holds no clips: the dataset's {n_clips} clip(s) form {plan.n_groups} group(s) of about "
        f"{plan.group_clips} clips and shards take whole groups, so at most {plan.n_groups} shard(s) get work; "
        f"this shard writes no rows (merging it is harmless)"
    )
