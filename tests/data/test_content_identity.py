"""Dataset identity by content: sha256 per file, cached by (resolved path, size, mtime_ns)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from audiostress.data import load_dataset
from audiostress.data.identity import CACHE_NAME, HashCache, dataset_identity

FILES = ["bonafide/b1.wav", "bonafide/b2.wav", "spoof/A01/s1.wav", "spoof/A02/s2.wav"]
HOUR_AGO = time.time() - 3600


def _write(root: Path, rel: str, fill: int, size: int = 4096, *, old: bool = True) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes([fill]) * size)
    if old:  # a file that has existed a while (a fresh one is re-hashed: see the racy test)
        os.utime(path, (HOUR_AGO, HOUR_AGO))


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    base = tmp_path / "data"
    for i, rel in enumerate(FILES):
        _write(base, rel, i)
    return base


def test_regenerated_audio_of_the_same_size_changes_the_identity(root: Path, tmp_path: Path) -> None:
    cache = HashCache(tmp_path / "cache.sqlite")
    before = dataset_identity(load_dataset(root), cache=cache)
    assert before["clips"].startswith("4 clips, sha256 ") and before["format"] == "folder" and before["limit"] is None
    size = (root / FILES[2]).stat().st_size
    _write(root, FILES[2], 99, size, old=False)  # same length, new bytes
    assert (root / FILES[2]).stat().st_size == size
    after = dataset_identity(load_dataset(root), cache=HashCache(tmp_path / "cache.sqlite"))
    assert after["clips"] != before["clips"]


def test_a_copy_at_another_path_has_the_same_identity(root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(root, copy)
    cache = HashCache(tmp_path / "cache.sqlite")
    assert dataset_identity(load_dataset(copy), cache=cache) == dataset_identity(load_dataset(root), cache=cache)


def test_labels_and_attacks_count_too(root: Path, tmp_path: Path) -> None:
    cache = HashCache(tmp_path / "cache.sqlite")
    before = dataset_identity(load_dataset(root), cache=cache)
    (root / "spoof" / "A02").rename(root / "spoof" / "A03")
    assert dataset_identity(load_dataset(root), cache=cache)["clips"] != before["clips"]


def test_the_second_call_hashes_nothing(root: Path, tmp_path: Path) -> None:
    dataset = load_dataset(root)
    with HashCache(tmp_path / "cache.sqlite") as first:
        identity = dataset_identity(dataset, cache=first)
        assert first.files_hashed == len(FILES)
    with HashCache(tmp_path / "cache.sqlite") as second:  # a new process: the SQLite file answers
        assert dataset_identity(dataset, cache=second) == identity
        assert second.files_hashed == 0
        os.utime(root / FILES[0], (HOUR_AGO + 5, HOUR_AGO + 5))  # touched: size same, mtime differs
        assert dataset_identity(dataset, cache=second) == identity
        assert second.files_hashed == 1


def test_a_file_hashed_right_after_it_was_written_is_hashed_again(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    for i, rel in enumerate(FILES):
        _write(root, rel, i, old=False)
    dataset = load_dataset(root)
    with HashCache(tmp_path / "cache.sqlite") as cache:
        identity = dataset_identity(dataset, cache=cache)
        dataset_identity(dataset, cache=cache)
        # same-tick rewrites would keep (size, mtime): such entries are not trusted
        assert cache.files_hashed == 2 * len(FILES)
        assert dataset_identity(dataset, cache=cache) == identity


def test_a_broken_cache_file_is_rebuilt(root: Path, tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not sqlite" * 300)
    dataset = load_dataset(root)
    with HashCache(path) as cache:
        identity = dataset_identity(dataset, cache=cache)
        assert cache.files_hashed == len(FILES)
    with HashCache(path) as cache:  # rebuilt and kept
        assert dataset_identity(dataset, cache=cache) == identity and cache.files_hashed == 0


def test_an_unwritable_cache_location_falls_back_to_memory(root: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    dataset = load_dataset(root)
    with HashCache(blocker / "sub" / CACHE_NAME) as cache:  # its folder cannot be created
        identity = dataset_identity(dataset, cache=cache)
        assert dataset_identity(dataset, cache=cache) == identity
        assert cache.files_hashed == len(FILES)  # the memory copy answered the second call
    assert identity == dataset_identity(dataset, cache=HashCache(tmp_path / "ok.sqlite"))


def test_default_location_is_under_the_cache_root(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIOSTRESS_CACHE", str(tmp_path / "cache_root"))
    with HashCache() as cache:
        assert cache.path == tmp_path / "cache_root" / CACHE_NAME
    identity = dataset_identity(load_dataset(root))
    assert (tmp_path / "cache_root" / CACHE_NAME).is_file()
    with HashCache() as cache:
        assert dataset_identity(load_dataset(root), cache=cache) == identity and cache.files_hashed == 0


def test_concurrent_use_of_one_cache_file(root: Path, tmp_path: Path) -> None:
    dataset = load_dataset(root)
    path = tmp_path / "cache.sqlite"
    results: list[object] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        try:
            with HashCache(path) as cache:
                results.append(dataset_identity(dataset, cache=cache))
        except Exception as exc:  # any failure is the test's failure
            results.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 4 and all(r == results[0] for r in results) and isinstance(results[0], dict)


def test_a_missing_file_does_not_break_the_identity(root: Path, tmp_path: Path) -> None:
    dataset = load_dataset(root)
    (root / FILES[0]).unlink()
    identity = dataset_identity(dataset, cache=HashCache(tmp_path / "cache.sqlite"))
    assert identity["clips"].startswith("4 clips, sha256 ")
