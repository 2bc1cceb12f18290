"""`limit` + `seed`: a stratified, deterministic subset that keeps the bona fide / spoof ratio."""

from __future__ import annotations

import pytest
from dataset_files import touch

from audiostress.data import load_dataset, stratified_subset
from audiostress.data.subset import class_quota


@pytest.fixture()
def big(tmp_path):
    root = tmp_path / "big"
    for i in range(30):
        touch(root / "bonafide" / f"b{i:02d}.wav")
    for i in range(90):
        touch(root / "spoof" / f"A{i % 3}" / f"s{i:02d}.wav")
    return root


def test_limit_keeps_the_ratio(big):
    ds = load_dataset(big, limit=20, seed=3)
    assert ds.counts() == {"bonafide": 5, "spoof": 15}  # 1:3, as in the full set
    assert ds.describe()["total"] == 120 and ds.describe()["limit"] == 20


def test_limit_is_deterministic_and_seed_dependent(big):
    a = [c.clip_id for c in load_dataset(big, limit=20, seed=3)]
    b = [c.clip_id for c in load_dataset(big, limit=20, seed=3)]
    c = [c.clip_id for c in load_dataset(big, limit=20, seed=4)]
    assert a == b and a != c


def test_subset_does_not_depend_on_row_order(big):
    clips = load_dataset(big).clips
    forward = {c.clip_id for c in stratified_subset(clips, 12, seed=1)}
    backward = {c.clip_id for c in stratified_subset(list(reversed(clips)), 12, seed=1)}
    assert forward == backward and len(forward) == 12


def test_quota_keeps_both_classes_and_edge_cases(big):
    assert class_quota({"bonafide": 1, "spoof": 999}, 10) == {"bonafide": 1, "spoof": 9}
    assert class_quota({"bonafide": 30, "spoof": 90}, 7) == {"bonafide": 2, "spoof": 5}
    clips = load_dataset(big).clips
    assert stratified_subset(clips, 500, seed=0) == clips
    with pytest.raises(ValueError, match="`limit` to be a positive integer, got 0"):
        stratified_subset(clips, 0, seed=0)
