"""The corrupted-audio cache (``--cache DIR``): corrupt once, score many detectors.

Corrupted audio does not depend on the detector, so ``CorruptCache`` keeps each
corrupted clip on disk under a key (``entry_key``) that hashes everything the
audio does depend on: the clean clip's content, the node's ``to_dict()``, the
pair's seed, the corruption rate and the library versions (``library_versions``:
audiostress, torch, numpy and ``codecs.provenance.codec_versions()``). A second
sweep of another detector over the same data and grid reads the audio back
instead of coding it (``cached_work.py`` binds the cache to the engine).

- **Storage, lossless.** An entry is one file ``objects/<2 hex>/<key>.asc``: a
  magic line, a JSON header (the key, shape, dtype, the measured SNR and any
  caller metadata) and the float32 samples split into their 4 byte planes
  ("byte shuffle") and zlib-compressed at level 1. Decoding reverses it
  exactly, so a hit holds the very bits that were computed. The shuffle groups
  the sign/exponent bytes, which compress well; codec output at 16 kHz takes
  about 85 % of raw float32 (216 KB for a 4 s clip, against 244 KB for
  ``np.savez_compressed``).
- **Index and size bound.** ``index.sqlite`` (WAL) lists every entry with its
  size and last access time, and keeps the total. A write beyond ``max_bytes``
  (``--cache-size``: ``"2G"``, ``"500M"``, bytes) evicts the least recently used
  entries down to 90 % of the bound. Reads update the access times in batches.
- **Concurrency.** An entry is written to a temporary file in its folder and
  published with ``os.replace`` inside an ``IMMEDIATE`` transaction of the
  index, and eviction unlinks inside one too: the index's write lock serialises
  publishing and evicting, so two sweeps (or ``--procs`` shards) filling and
  evicting one cache never leave a listed entry without its file. A file that
  vanished anyway (removed by hand) is a miss, never an error.
- **Sharing between users.** Files and folders are created with the process
  umask like any other file (``0o666``/``0o777`` masked). When the cache root
  is group-writable (``chmod 2775 DIR; chgrp team DIR``), every entry, folder
  and the index are made group read/write too, whatever the umask, and new
  folders inherit the set-group-id bit, so the users of one group share the
  cache. Otherwise other users can read it only as far as their umask allows.
- **Training.** ``augment.CodecCache`` pointed at the same folder stores its
  encoded bitstreams through this store too (``put_bytes``/``get_bytes``, their
  own key space), under the same size bound and LRU.

A cache never makes a sweep fail: an unreadable entry is a miss and is dropped.

>>> import tempfile, numpy as np
>>> with CorruptCache(tempfile.mkdtemp(), max_bytes="1M") as cache:
...     key = entry_key({"clip": "abc", "seed": 1})
...     _ = cache.put(key, np.arange(4, dtype=np.float32), {"snr_db": 12.5})
...     audio, meta = cache.get(key)
>>> audio.tolist(), meta["snr_db"]
([0.0, 1.0, 2.0, 3.0], 12.5)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
import stat
import threading
import time
import zlib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "INDEX_NAME", "CorruptCache", "clip_hash", "decode_audio", "encode_audio", "entry_key", "library_versions",
    "parse_size",
]  # fmt: skip

log = logging.getLogger("audiostress.cache")

INDEX_NAME = "index.sqlite"
#: First line of every entry file (format version 1).
MAGIC = b"audiostress-cache 1\n"
#: Eviction goes down to this share of ``max_bytes``, so it does not run on every write.
LOW_WATER = 0.9
#: Access times collected before they are written to the index.
TOUCH_BATCH = 64
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, size INTEGER NOT NULL, atime REAL NOT NULL);"
    "CREATE INDEX IF NOT EXISTS entries_atime ON entries (atime);"
    "CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO totals VALUES ('bytes', 0);"
)


def parse_size(size: str | int | None) -> int | None:
    """``"2G"``, ``"500M"``, ``"64K"``, ``"1.5GB"`` or a byte count -> bytes (powers of 1024); ``None`` stays ``None``.

    >>> parse_size("2G"), parse_size("500M"), parse_size(4096), parse_size(None)
    (2147483648, 524288000, 4096, None)
    """
    if size is None:
        return None
    if isinstance(size, bool):
        raise ValueError(f"Expected `cache_size` (--cache-size) as bytes or a size such as '2G' or '500M', got {size!r}")
    if isinstance(size, int):
        value = size
    else:
        m = _SIZE_RE.match(str(size))
        if not m:
            raise ValueError(f"Expected `cache_size` (--cache-size) as bytes or a size such as '2G' or '500M', got {size!r}")
        value = int(float(m.group(1)) * _UNITS[m.group(2).upper()])
    if value < 1:
        raise ValueError(f"Expected `cache_size` (--cache-size) of at least 1 byte, got {size!r}; leave it unset for no bound")
    return value


@lru_cache(maxsize=1)
def library_versions() -> dict[str, Any]:
    """The versions an entry's key carries: audiostress, torch, numpy and every codec backend."""
    from .._version import __version__
    from ..codecs.provenance import codec_versions

    return {"audiostress": __version__, "torch": torch.__version__, "numpy": np.__version__, "codecs": codec_versions()}


def entry_key(parts: Mapping[str, Any]) -> str:
    """sha256 (hex) of ``parts`` as canonical JSON: the name of one entry."""
    text = json.dumps(dict(parts), sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clip_hash(audio: torch.Tensor, sample_rate: int) -> str:
    """sha256 of a clip's float32 samples, shape and rate (the content part of a key)."""
    data = audio.detach().to("cpu", torch.float32).contiguous().numpy()
    h = hashlib.sha256(repr((tuple(data.shape), int(sample_rate))).encode())
    h.update(data.tobytes())
    return h.hexdigest()


def encode_audio(key: str, audio: np.ndarray, meta: Mapping[str, Any]) -> bytes:
    """One entry file's bytes: magic, JSON header, zlib of the byte planes (lossless for any float32 value)."""
    data = np.ascontiguousarray(audio, dtype=np.float32)
    header = {"key": key, "shape": list(data.shape), "dtype": "float32", "meta": dict(meta)}
    planes = data.reshape(-1).view(np.uint8).reshape(-1, 4).T.tobytes()
    head = json.dumps(header, sort_keys=True).encode("utf-8")
    return MAGIC + len(head).to_bytes(4, "little") + head + zlib.compress(planes, 1)


def decode_audio(blob: bytes, key: str | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """``encode_audio`` reversed; raises ``ValueError`` on a foreign, truncated or mismatched file."""
    if not blob.startswith(MAGIC):
        raise ValueError("not an audiostress cache entry")
    at = len(MAGIC)
    n = int.from_bytes(blob[at : at + 4], "little")
    header = json.loads(blob[at + 4 : at + 4 + n].decode("utf-8"))
    if key is not None and header.get("key") != key:
        raise ValueError(f"entry holds key {header.get('key')!r}, expected {key!r}")
    shape = tuple(int(s) for s in header["shape"])
    raw = np.frombuffer(zlib.decompress(blob[at + 4 + n :]), dtype=np.uint8)
    count = int(np.prod(shape)) if shape else 1
    if raw.size != 4 * count:
        raise ValueError(f"entry holds {raw.size} bytes, expected {4 * count}")
    audio = raw.reshape(4, count).T.copy().view(np.float32).reshape(shape)
    return audio, dict(header.get("meta") or {})


class CorruptCache:
    """A corrupted-audio cache in ``root`` (see the module docstring); ``max_bytes``: ``None`` for no bound.

    Counters of this object: ``hits``, ``misses``, ``stored``, ``stored_bytes``, ``evicted``.
    """

    def __init__(self, root: str | os.PathLike[str], *, max_bytes: str | int | None = None) -> None:
        self.root = Path(root).expanduser()
        self.max_bytes = parse_size(max_bytes)
        self.hits = self.misses = self.stored = self.stored_bytes = self.evicted = 0
        self._lock = threading.Lock()
        self._touches: dict[str, float] = {}
        self._mkdir(self.root)
        self._shared = bool(self.root.stat().st_mode & stat.S_IWGRP)
        index = self.root / INDEX_NAME
        self._db = sqlite3.connect(str(index), timeout=60.0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        for suffix in ("", "-wal", "-shm"):
            self._share(Path(str(index) + suffix), 0)

    # -- paths and permissions -----------------------------------------------------------------
    def path(self, key: str) -> Path:
        """Where the entry ``key`` lives."""
        return self.root / "objects" / key[:2] / f"{key}.asc"

    def _mkdir(self, folder: Path) -> None:
        missing = []
        for p in (folder, *folder.parents):
            if p.is_dir():
                break
            missing.append(p)
        for p in reversed(missing):
            try:
                p.mkdir(mode=0o777)
            except FileExistsError:
                continue
            self._share(p, stat.S_IXGRP | stat.S_ISGID)

    def _share(self, path: Path, extra: int) -> None:
        """Add group read/write (and ``extra``) to a file we own when the cache root is group-writable."""
        if not getattr(self, "_shared", False):
            return
        try:
            st = path.stat()
            if st.st_uid == os.getuid():
                os.chmod(path, stat.S_IMODE(st.st_mode) | stat.S_IRGRP | stat.S_IWGRP | extra)
        except OSError:
            pass

    # -- bytes ---------------------------------------------------------------------------------
    def get_bytes(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or ``None`` (a miss); a hit refreshes its access time."""
        try:
            blob = self.path(key).read_bytes()
        except OSError:
            self.misses += 1
            return None
        self.hits += 1
        with self._lock:
            self._touches[key] = time.time()
            if len(self._touches) >= TOUCH_BATCH:
                self._flush_touches()
        return blob

    def put_bytes(self, key: str, blob: bytes) -> int:
        """Store ``blob`` under ``key`` atomically, then evict beyond the bound; returns its size (0: not kept)."""
        size = len(blob)
        if self.max_bytes is not None and size > self.max_bytes:
            log.warning("cache %s: an entry of %d bytes exceeds --cache-size %d; not stored", self.root, size, self.max_bytes)
            return 0
        final = self.path(key)
        self._mkdir(final.parent)
        tmp = final.with_name(f".{final.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)  # the umask applies, as for any file
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            self._share(tmp, 0)
            with self._lock:
                self._flush_touches()  # so eviction sees this process's reads
                with self._transaction() as db:
                    os.replace(tmp, final)
                    old = db.execute("SELECT size FROM entries WHERE key = ?", (key,)).fetchone()
                    db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", (key, size, time.time()))
                    db.execute("UPDATE totals SET value = value + ? WHERE name = 'bytes'", (size - (old[0] if old else 0),))
                    self._evict(db)
        finally:
            if tmp.exists():
                tmp.unlink()
        self.stored += 1
        self.stored_bytes += size
        return size

    def drop(self, key: str) -> None:
        """Forget ``key`` (an unreadable entry): its file and its index row."""
        with self._lock, self._transaction() as db:
            row = db.execute("SELECT size FROM entries WHERE key = ?", (key,)).fetchone()
            db.execute("DELETE FROM entries WHERE key = ?", (key,))
            if row:
                db.execute("UPDATE totals SET value = value - ? WHERE name = 'bytes'", (row[0],))
            self.path(key).unlink(missing_ok=True)

    # -- audio ---------------------------------------------------------------------------------
    def get(self, key: str) -> tuple[np.ndarray, dict[str, Any]] | None:
        """The float32 audio and metadata stored under ``key``, or ``None``; an unreadable entry is dropped."""
        blob = self.get_bytes(key)
        if blob is None:
            return None
        try:
            return decode_audio(blob, key)
        except (ValueError, KeyError, zlib.error, json.JSONDecodeError) as exc:
            log.warning("cache %s: dropping unreadable entry %s (%s)", self.root, key[:16], exc)
            self.hits -= 1
            self.misses += 1
            self.drop(key)
            return None

    def put(self, key: str, audio: np.ndarray, meta: Mapping[str, Any]) -> int:
        """Store float32 ``audio`` (exactly) with JSON-able ``meta``; returns the entry's size in bytes."""
        return self.put_bytes(key, encode_audio(key, audio, meta))

    # -- index ---------------------------------------------------------------------------------
    def size_bytes(self) -> int:
        """Bytes of every entry the index lists."""
        row = self._db.execute("SELECT value FROM totals WHERE name = 'bytes'").fetchone()
        return int(row[0]) if row else 0

    def entries(self) -> int:
        """How many entries the index lists."""
        return int(self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def flush(self) -> None:
        """Write the collected access times to the index."""
        with self._lock:
            self._flush_touches()

    def _flush_touches(self) -> None:
        if not self._touches:
            return
        touches, self._touches = self._touches, {}
        with self._transaction() as db:
            db.executemany("UPDATE entries SET atime = MAX(atime, ?) WHERE key = ?", [(t, k) for k, t in touches.items()])

    def _transaction(self) -> _Immediate:
        return _Immediate(self._db)

    def _evict(self, db: sqlite3.Connection) -> None:
        """Within the caller's write transaction: drop the least recently used entries down to ``LOW_WATER``."""
        if self.max_bytes is None:
            return
        total = int(db.execute("SELECT value FROM totals WHERE name = 'bytes'").fetchone()[0])
        if total <= self.max_bytes:
            return
        target = int(self.max_bytes * LOW_WATER)
        while total > target:
            rows = db.execute("SELECT key, size FROM entries ORDER BY atime LIMIT 256").fetchall()
            if not rows:
                break
            for key, size in rows:
                if total <= target:
                    break
                self.path(key).unlink(missing_ok=True)
                db.execute("DELETE FROM entries WHERE key = ?", (key,))
                total -= int(size)
                self.evicted += 1
        db.execute("UPDATE totals SET value = ? WHERE name = 'bytes'", (max(0, total),))

    def close(self) -> None:
        """Write pending access times and close the index."""
        with self._lock:
            try:
                self._flush_touches()
            finally:
                self._db.close()

    def __enter__(self) -> CorruptCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Immediate:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on an exception): the index's write lock."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: object, *exc: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
