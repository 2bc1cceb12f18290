"""Stratified, seeded subsets that keep the bona fide / spoof ratio.

Selection uses no random generator at all: within each class, clips are ranked
by a BLAKE2b hash of ``(seed, clip_id)`` and the lowest ranks are kept. The same
seed always keeps the same clips, whatever the file order, and a larger limit
keeps a superset of a smaller one's clips within each class.
"""

from __future__ import annotations

from ..seeding import derive_seed
from .clip import LABELS, Clip


def class_quota(counts: dict[str, int], limit: int) -> dict[str, int]:
    """Clips to keep per label: proportional (largest remainder), at least one of each present class."""
    total = sum(counts.values())
    present = [label for label in LABELS if counts.get(label, 0) > 0]
    exact = {label: limit * counts[label] / total for label in present}
    quota = {label: int(exact[label]) for label in present}
    by_remainder = sorted(present, key=lambda lb: (exact[lb] - quota[lb], counts[lb]), reverse=True)
    for label in by_remainder[: limit - sum(quota.values())]:
        quota[label] += 1
    if limit >= len(present):
        for label in present:
            if quota[label] == 0:
                donor = max(present, key=lambda lb: quota[lb])
                quota[donor] -= 1
                quota[label] = 1
    return {label: min(quota.get(label, 0), counts.get(label, 0)) for label in LABELS}


def stratified_subset(clips: list[Clip], limit: int, seed: int) -> list[Clip]:
    """At most ``limit`` clips with the original label ratio, in their original order."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"Expected `limit` to be a positive integer, got {limit!r}")
    if limit >= len(clips):
        return list(clips)
    counts = {label: sum(1 for c in clips if c.label == label) for label in LABELS}
    quota = class_quota(counts, limit)
    keep: set[int] = set()
    for label in LABELS:
        members = [i for i, c in enumerate(clips) if c.label == label]
        members.sort(key=lambda i: derive_seed("subset", int(seed), clips[i].clip_id))
        keep.update(members[: quota[label]])
    return [c for i, c in enumerate(clips) if i in keep]
