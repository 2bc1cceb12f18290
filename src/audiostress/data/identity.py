"""Dataset identity by content: which clips a sweep takes, independent of where they sit.

``dataset_identity`` hashes each clip's file (sha256 of its bytes) and then the
sorted ``(clip id, label, attack, file sha256)`` lines, so re-generated audio of
the same length gets a new identity (a resume refuses stale scores) while a copy
of the same data at another path, mount point or machine keeps it.

Hashing every file on every resume would be slow, so ``HashCache`` keeps each
file's sha256 in a small SQLite file (``<cache root>/file-hashes.sqlite``, see
``audiostress._paths.cache_root``) keyed by (resolved path, size, mtime_ns). Like
git's index it distrusts an entry whose file was modified less than
``RACY_SECONDS`` before it was hashed (a rewrite inside the same timestamp tick
would keep size and mtime), and hashes such a file again. The cache is safe for
concurrent use (WAL, a busy timeout, one transaction per batch); a broken cache
file is deleted and rebuilt, and if that fails too the cache lives in memory for
this process only: the cache is never the reason a sweep fails.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .._paths import cache_root

__all__ = ["CACHE_NAME", "RACY_SECONDS", "HashCache", "dataset_identity", "file_sha256"]

logger = logging.getLogger("audiostress.data")

#: File name of the hash cache under the cache root.
CACHE_NAME = "file-hashes.sqlite"
#: A file modified this close to (or after) the moment it was hashed is hashed again next time.
RACY_SECONDS = 3.0
#: What stands in for the hash of a file that cannot be read (the loader reports it as an error row).
UNREADABLE = "unreadable"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, "
    "sha256 TEXT NOT NULL, hashed_ns INTEGER NOT NULL)"
)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class HashCache:
    """File sha256s cached by (resolved path, size, mtime_ns) in an SQLite file.

    ``files_hashed`` counts the files this object actually read (cache misses);
    ``path=None`` uses ``<cache root>/file-hashes.sqlite``. Use as a context manager
    or call ``close``.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else cache_root() / CACHE_NAME
        self.files_hashed = 0
        self._memory: dict[str, tuple[int, int, str, int]] = {}
        self._conn: sqlite3.Connection | None = self._connect()

    # -- the SQLite file, rebuilt when broken -------------------------------------------
    def _connect(self) -> sqlite3.Connection | None:
        for attempt in range(2):
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute(_SCHEMA)
                    conn.execute("SELECT COUNT(*) FROM hashes").fetchone()
                except BaseException:
                    conn.close()
                    raise
                return conn
            except (sqlite3.DatabaseError, OSError) as exc:
                if attempt == 0 and isinstance(exc, sqlite3.DatabaseError):
                    logger.warning("hash cache %s is unusable (%s); rebuilding it", self.path, exc)
                    self._remove_files()
                    continue
                logger.warning("hash cache %s is unusable (%s); hashes are kept in memory only", self.path, exc)
        return None

    def _remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except OSError:
                pass

    def _fallback(self, exc: BaseException) -> None:
        logger.warning("hash cache %s failed (%s); hashes are kept in memory only", self.path, exc)
        self.close()

    def close(self) -> None:
        """Close the SQLite file (the object keeps working from memory)."""
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None

    def __enter__(self) -> HashCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- lookups -----------------------------------------------------------------------
    def _stored(self, keys: list[str]) -> dict[str, tuple[int, int, str, int]]:
        found = {k: self._memory[k] for k in keys if k in self._memory}
        if self._conn is None:
            return found
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                for path, size, mtime, digest, hashed in self._conn.execute(
                    f"SELECT path, size, mtime_ns, sha256, hashed_ns FROM hashes WHERE path IN ({marks})", chunk
                ):
                    found[path] = (int(size), int(mtime), str(digest), int(hashed))
        except sqlite3.DatabaseError as exc:
            self._fallback(exc)
        return found

    def _remember(self, entries: list[tuple[str, int, int, str, int]]) -> None:
        for path, size, mtime, digest, hashed in entries:
            self._memory[path] = (size, mtime, digest, hashed)
        if self._conn is None or not entries:
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?)", entries)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            self._fallback(exc)

    def sha256_many(self, paths: Iterable[str | os.PathLike[str]], *, workers: int = 4) -> dict[str, str]:
        """``{path as given: sha256}`` for each path, reading only files the cache cannot vouch for.

        A file that cannot be read maps to ``"unreadable"`` (loading it later gives the real error).
        """
        given = [str(p) for p in paths]
        resolved = {p: os.path.realpath(p) for p in given}
        stats: dict[str, tuple[int, int] | None] = {}
        for real in set(resolved.values()):
            try:
                st = os.stat(real)
                stats[real] = (st.st_size, st.st_mtime_ns)
            except OSError:
                stats[real] = None
        stored = self._stored(sorted(r for r, s in stats.items() if s is not None))
        digests: dict[str, str] = {}
        todo: list[str] = []
        for real, stat in stats.items():
            if stat is None:
                digests[real] = UNREADABLE
                continue
            entry = stored.get(real)
            if entry is not None and entry[:2] == stat and entry[3] - stat[1] > RACY_SECONDS * 1e9:
                digests[real] = entry[2]
            else:
                todo.append(real)
        if todo:
            with ThreadPoolExecutor(max(1, min(workers, len(todo)))) as pool:  # hashlib releases the GIL
                hashed = list(pool.map(_hash_or_none, sorted(todo)))
            fresh = []
            for real, (digest, hashed_ns) in zip(sorted(todo), hashed):
                digests[real] = digest or UNREADABLE
                stat = stats[real]
                if digest is not None and stat is not None:
                    self.files_hashed += 1
                    fresh.append((real, stat[0], stat[1], digest, hashed_ns))
            self._remember(fresh)
        return {p: digests[resolved[p]] for p in given}


def _hash_or_none(path: str) -> tuple[str | None, int]:
    started = time.time_ns()
    try:
        return file_sha256(path), started
    except OSError:
        return None, started


def dataset_identity(dataset: Any, *, cache: HashCache | None = None) -> dict[str, Any]:
    """Which clips a sweep takes, by content: ``{"format", "limit", "clips": "<n> clips, sha256 <16 hex>"}``.

    The digest covers the sorted ``(clip id, label, attack, sha256 of the file)``
    lines, so it changes when any file's bytes change and not when the data moves.
    ``cache`` defaults to the shared ``HashCache`` under the cache root.

    >>> from audiostress.data import Dataset
    >>> dataset_identity(Dataset([], [], source="none", format="csv"), cache=HashCache(":memory:"))
    {'format': 'csv', 'limit': None, 'clips': '0 clips, sha256 e3b0c44298fc1c14'}
    """
    info = dataset.describe() if hasattr(dataset, "describe") else {}
    clips = list(dataset.clips)
    own = cache is None
    hashes = cache if cache is not None else HashCache()
    try:
        digests = hashes.sha256_many([str(c.path) for c in clips])
    finally:
        if own:
            hashes.close()
    lines = sorted(f"{c.clip_id}\t{c.label}\t{c.attack or ''}\t{digests[str(c.path)]}" for c in clips)
    digest = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]
    return {
        "format": str(info.get("format", getattr(dataset, "format", ""))),
        "limit": info.get("limit"),
        "clips": f"{len(lines)} clips, sha256 {digest}",
    }
