"""Paths are resolved before the root check, and one file listed under two clip ids is a problem row."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dataset_files import touch

from audiostress.data import DatasetError, load_dataset


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    base = tmp_path / "root"
    touch(base / "bonafide" / "b1.wav")
    touch(base / "bonafide" / "b2.wav")
    touch(base / "spoof" / "s1.wav")
    touch(tmp_path / "outside" / "secret.wav")
    return base


def _problems(ds) -> list[tuple[str, str]]:
    return [(p.row, p.message) for p in ds.problems]


def test_folder_symlink_to_a_file_outside_the_root_is_a_problem(root: Path) -> None:
    target = "/etc/passwd" if os.path.isfile("/etc/passwd") else str(root.parent / "outside" / "secret.wav")
    os.symlink(target, root / "spoof" / "evil.wav")
    os.symlink(root.parent / "outside" / "secret.wav", root / "spoof" / "secret.wav")
    ds = load_dataset(root)
    assert sorted(c.clip_id for c in ds.clips) == ["bonafide/b1", "bonafide/b2", "spoof/s1"]
    got = dict(_problems(ds))
    assert set(got) == {"spoof/evil.wav", "spoof/secret.wav"}
    assert "escapes the dataset root" in got["spoof/evil.wav"]
    assert f"resolves to {os.path.realpath(target)}" in got["spoof/evil.wav"]
    with pytest.raises(DatasetError, match="escapes the dataset root"):
        load_dataset(root, strict=True)


def test_folder_symlink_to_a_listed_file_is_a_duplicate(root: Path) -> None:
    os.symlink(root / "bonafide" / "b1.wav", root / "bonafide" / "b1_again.wav")
    ds = load_dataset(root)
    assert sorted(c.clip_id for c in ds.clips) == ["bonafide/b1", "bonafide/b2", "spoof/s1"]
    ((row, message),) = _problems(ds)
    assert row == "bonafide/b1_again.wav"
    assert "already listed as clip 'bonafide/b1'" in message and "bonafide/b1_again" in message


def test_folder_symlinked_label_folder_outside_the_root_is_refused(root: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside", root / "fake")
    ds = load_dataset(root)
    assert [c.clip_id for c in ds.clips if c.clip_id.startswith("fake/")] == []
    assert [row for row, _ in _problems(ds)] == ["fake/secret.wav"]


def test_symlink_inside_the_root_to_an_unlisted_file_inside_is_fine(root: Path, tmp_path: Path) -> None:
    touch(root / "store" / "x.wav")  # not a label folder: an unknown folder problem, never a clip of its own
    os.symlink(root / "store" / "x.wav", root / "spoof" / "x.wav")
    ds = load_dataset(root)
    assert "spoof/x" in [c.clip_id for c in ds.clips]
    assert [row for row, _ in _problems(ds)] == ["store/"]


def test_a_root_reached_through_a_symlink_still_loads(root: Path, tmp_path: Path) -> None:
    os.symlink(root, tmp_path / "root_link")
    ds = load_dataset(tmp_path / "root_link")
    assert sorted(c.clip_id for c in ds.clips) == ["bonafide/b1", "bonafide/b2", "spoof/s1"] and not ds.problems


def test_manifest_same_file_under_two_ids_and_through_a_folder_link(root: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside", root / "linked")
    manifest = root / "manifest.csv"
    manifest.write_text(
        "path,label,clip_id\n"
        "bonafide/b1.wav,bonafide,one\n"
        "bonafide/b2.wav,bonafide,two\n"
        "spoof/s1.wav,spoof,three\n"
        "bonafide/../bonafide/b1.wav,bonafide,one_again\n"  # line 5: the same file as line 2
        "linked/secret.wav,spoof,secret\n"  # line 6: a folder link that leaves the root
        "./spoof/s1.wav,spoof,three_again\n",  # line 7: the same file as line 4
        encoding="utf-8",
    )
    ds = load_dataset(manifest)
    assert [c.clip_id for c in ds.clips] == ["one", "two", "three"]
    got = _problems(ds)
    assert [row for row, _ in got] == ["manifest.csv:5", "manifest.csv:6", "manifest.csv:7"]
    assert "already listed as clip 'one' (at manifest.csv:2)" in got[0][1]
    assert "escapes the dataset root" in got[1][1] and "resolves to" in got[1][1]
    assert "already listed as clip 'three' (at manifest.csv:4)" in got[2][1]


def test_jsonl_manifest_symlink_outside_is_a_problem(root: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside" / "secret.wav", root / "spoof" / "s2.wav")
    manifest = root / "m.jsonl"
    manifest.write_text(
        '{"path": "bonafide/b1.wav", "label": "bonafide"}\n'
        '{"path": "spoof/s1.wav", "label": "spoof"}\n'
        '{"path": "spoof/s2.wav", "label": "spoof"}\n',
        encoding="utf-8",
    )
    ds = load_dataset(manifest)
    assert [c.clip_id for c in ds.clips] == ["bonafide/b1", "spoof/s1"]
    assert [row for row, _ in _problems(ds)] == ["m.jsonl:3"]
