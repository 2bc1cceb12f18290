"""Plan: keyed seeds, deterministic order, sharding by clip id, skipping finished pairs."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from audiostress.runners.plan import Shard, group_of, make_plan, n_groups_for, pair_seed, parse_shard
from audiostress.seeding import derive_seed


@dataclass(frozen=True)
class C:
    clip_id: str


CLIPS = [C(f"clip{i:03d}") for i in range(60)]
CELLS = ["clean", "gain@1", "mp3@3"]


def test_seed_is_derived_from_sweep_seed_clip_and_cell_only() -> None:
    plan = make_plan(CLIPS, CELLS, seed=7)
    unit = plan.units(5)[2]
    assert (unit.clip_id, unit.cell_id) == ("clip005", "mp3@3")
    assert unit.seed == derive_seed(7, "clip005", "mp3@3") == pair_seed(7, "clip005", "mp3@3")
    # Dropping other clips (a shard) or finished pairs leaves the seed unchanged.
    small = make_plan([CLIPS[5]], CELLS, seed=7, done={("clip005", "clean")})
    assert small.units(0)[-1].seed == unit.seed
    assert [u.cell_id for u in small.units(0)] == ["gain@1", "mp3@3"]


def test_shards_partition_the_clips_and_keep_every_cell_of_a_clip_together() -> None:
    shards = [make_plan(CLIPS, CELLS, 0, shard=Shard(i, 3)) for i in (1, 2, 3)]
    ids = [c.clip_id for p in shards for c in p.clips]
    assert sorted(ids) == [c.clip_id for c in CLIPS]  # disjoint and complete
    assert all(len(p.clips) > 5 for p in shards)  # roughly balanced (60 clips, 3 shards)
    for p in shards:
        assert all(len(p.units(i)) == len(CELLS) for i in range(len(p.clips)))
    # Stable: a clip's shard follows from the hash of its id and the dataset size only.
    group = group_of("clip042", n_groups_for(len(CLIPS)))
    owner = shards[group % 3]
    assert C("clip042") in owner.clips


def test_groups_are_whole_in_a_shard_and_yielded_whole() -> None:
    full = make_plan(CLIPS, CELLS, 0)
    by_group = {tuple(full.clips[i].clip_id for i in idx) for idx in full.pending_groups()}
    assert sum(len(g) for g in by_group) == len(CLIPS) and len(by_group) == n_groups_for(60)
    parts = [make_plan(CLIPS, CELLS, 0, shard=Shard(i, 2)) for i in (1, 2)]
    shard_groups = {tuple(p.clips[i].clip_id for i in idx) for p in parts for idx in p.pending_groups()}
    assert shard_groups == by_group  # the same device batches as a single run
    # A group with one pending pair is yielded whole, so its device batch keeps its members.
    first = next(iter(full.pending_groups()))
    done = {(c.clip_id, k) for c in CLIPS for k in CELLS} - {(CLIPS[first[0]].clip_id, "gain@1")}
    resumed = make_plan(CLIPS, CELLS, 0, done=done)
    assert list(resumed.pending_groups()) == [first]


def test_done_pairs_are_skipped_and_counted() -> None:
    done = {("clip000", "clean"), ("clip000", "gain@1"), ("clip000", "mp3@3"), ("clip001", "gain@1")}
    plan = make_plan(CLIPS[:4], CELLS, 0, done=done)
    assert plan.total == 12 and plan.pending == 8
    assert [u.cell_id for u in plan.units(0)] == [] and [u.cell_id for u in plan.units(1)] == ["clean", "mp3@3"]


@pytest.mark.parametrize("text", ["0/2", "3/2", "1-2", "a/b", "1/0"])
def test_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="shard"):
        parse_shard(text)


def test_duplicate_clip_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="Duplicate clip_id 'clip001'"):
        make_plan([C("clip001"), C("clip001")], CELLS, 0)


def test_parse_shard() -> None:
    assert parse_shard(" 2 / 4 ") == Shard(2, 4)
    assert parse_shard(None) is None
