"""``CodecCache``: the encoded bitstreams of k seeded realisations per (clip, variant), decoded at training time.

Encoding dominates a codec's cost; decoding is far cheaper. The cache stores, per
clip and variant, the bitstreams of ``k`` realisations (realisation ``r`` runs the
variant's CPU part with ``derive_seed(cache seed, clip hash, r)``), never decoded
audio. At training time the item's generator draws ``r``, the entry is decoded
through the same path as coding on the fly (``_tape.py``), so a hit is
bit-identical to computing it; a miss computes it on the fly, stores it, and is
logged once per process.

An entry's key is a hash of: the clip's content (sha256 of its samples at the
dataset rate), the CPU part's ``to_dict()``, the cache seed, ``r``, the rate and
the codec library versions, so a changed clip, node, seed or library is a miss,
never a stale hit. An entry is one small binary file (``pack_streams``: a magic
line, the stream count and lengths, then the bytes; no pickle), written
atomically, so workers can fill the cache concurrently. With a cache the CPU part codes the
whole clip and the crop comes after (the record says ``crop_after``).

Pointed at a sweep's corrupted-audio cache (a folder holding the
``runners.cache`` index, ``--cache DIR``), the entries go through that store
instead: the same folder, its ``--cache-size`` bound and least-recently-used
eviction, its locking and group permissions; the bitstream entries have their
own key space there (``entry_key({"kind": "codec-streams", ...})``), so they
never collide with a sweep's decoded audio. ``clip_hash`` is the one both use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..corruptions import Node, from_dict
from ..corruptions._trace import ItemTrace, tracing
from ..runners.cache import INDEX_NAME, CorruptCache, clip_hash, entry_key
from ..seeding import derive_seed, make_generator
from ._tape import Tape, taped

log = logging.getLogger("audiostress.augment")

META_NAME = "cache.json"
#: First bytes of an entry (``pack_streams``); the number is the layout's version.
ENTRY_MAGIC = b"audiostress-codec-streams 1\n"
ENTRY_SUFFIX = ".streams"


def pack_streams(streams: Sequence[bytes]) -> bytes:
    """One entry: ``ENTRY_MAGIC``, the count (uint32 LE), each length (uint64 LE), then the streams.

    >>> unpack_streams(pack_streams([b"ab", b"", b"c"]))
    [b'ab', b'', b'c']
    """
    head = struct.pack(f"<I{len(streams)}Q", len(streams), *(len(x) for x in streams))
    return ENTRY_MAGIC + head + b"".join(streams)


def unpack_streams(blob: bytes) -> list[bytes]:
    """The streams of an entry written by ``pack_streams``; ``ValueError`` for anything else or a truncated one."""
    view = memoryview(blob)
    start = len(ENTRY_MAGIC)
    if bytes(view[:start]) != ENTRY_MAGIC or len(blob) < start + 4:
        raise ValueError("not a CodecCache entry (wrong magic); delete it and rebuild the cache")
    (count,) = struct.unpack_from("<I", blob, start)
    offset = start + 4 + 8 * count
    if len(blob) < offset:
        raise ValueError("truncated CodecCache entry; delete it and rebuild the cache")
    out = []
    for size in struct.unpack_from(f"<{count}Q", blob, start + 4):
        out.append(bytes(view[offset : offset + size]))
        offset += size
    if offset != len(blob):
        raise ValueError("truncated CodecCache entry; delete it and rebuild the cache")
    return out


@lru_cache(maxsize=1)
def _versions_text() -> str:
    from ..codecs.provenance import codec_versions

    return json.dumps(codec_versions(), sort_keys=True, default=str)


def realisation_seed(cache_seed: int, content: str, r: int) -> int:
    """The seed realisation ``r`` of the clip with content hash ``content`` runs with."""
    return derive_seed(int(cache_seed), content, int(r))


def realise(node: Node, audio: Tensor, sample_rate: int, seed: int, streams: list[bytes] | None) -> tuple[Tensor, ItemTrace, torch.Generator, Tape]:
    """Run ``node`` on ``[C, T]`` with ``make_generator(seed)``, reading ``streams`` (replay) or recording them (None)."""
    tape = Tape(streams)
    gen = make_generator(seed)
    with torch.inference_mode(), tracing([gen]) as traces:
        lengths = torch.tensor([audio.shape[-1]], dtype=torch.long)
        out = taped(node, tape).apply_items(audio.unsqueeze(0), sample_rate, [gen], lengths)[0]
    return out, traces[0], gen, tape


class CodecCache:
    """A folder of encoded realisations (see the module docstring); ``AugmentedDataset(..., cache=CodecCache(dir))``.

    ``k`` and ``seed`` are read from the folder's ``cache.json`` when ``audiostress
    cache build`` wrote one; otherwise they are taken from the arguments (and the
    cache fills on misses when ``write`` is true).
    """

    def __init__(self, root: str | os.PathLike[str], *, k: int = 4, seed: int = 0, write: bool = True) -> None:
        self.root = Path(root).expanduser()
        meta = self.root / META_NAME
        info = json.loads(meta.read_text()) if meta.is_file() else {}
        self.k = int(info.get("k", k))
        self.seed = int(info.get("seed", seed))
        if self.k < 1:
            raise ValueError(f"Expected `k` >= 1 realisations per clip, got {self.k}")
        self.write = bool(write)
        self.hits = 0
        self.misses = 0
        self._miss_logged = False
        self._shared: CorruptCache | None = None  # opened lazily in each process (a connection does not pickle)
        self._nodes: dict[int, tuple[Node, Any]] = {}  # node.to_dict() per node object (``_node_value``)

    @property
    def shared(self) -> CorruptCache | None:
        """The sweep cache this folder holds (its ``index.sqlite``), through which entries are kept; else ``None``."""
        if self._shared is None and (self.root / INDEX_NAME).is_file():
            self._shared = CorruptCache(self.root)
        return self._shared

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_shared": None}

    def _shared_key(self, key: str) -> str:
        return entry_key({"kind": "codec-streams", "layout": ENTRY_MAGIC.decode().strip(), "key": key})

    def key(self, content: str, node: Node, r: int, sample_rate: int) -> str:
        """The entry key (hex) of realisation ``r`` of ``node`` on the clip with content hash ``content``."""
        text = json.dumps([content, self._node_value(node), self.seed, int(r), int(sample_rate), _versions_text()],
                          sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def _node_value(self, node: Node) -> Any:
        """``node.to_dict()``, computed once per node object (the dataset asks for the same node every item)."""
        held = self._nodes.get(id(node))
        if held is None or held[0] is not node:
            held = self._nodes[id(node)] = (node, node.to_dict())
        return held[1]

    def path(self, key: str) -> Path:
        return self.root / "entries" / key[:2] / f"{key}{ENTRY_SUFFIX}"

    def read(self, key: str) -> list[bytes] | None:
        shared = self.shared
        if shared is not None:
            blob = shared.get_bytes(self._shared_key(key))
            return None if blob is None else unpack_streams(blob)
        try:
            blob = self.path(key).read_bytes()
        except FileNotFoundError:
            return None
        return unpack_streams(blob)

    def store(self, key: str, streams: Sequence[bytes]) -> int:
        """Write one entry atomically; returns its size in bytes."""
        blob = pack_streams(streams)
        shared = self.shared
        if shared is not None:
            return shared.put_bytes(self._shared_key(key), blob)
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        tmp.write_bytes(blob)
        os.replace(tmp, path)
        return len(blob)

    def run(self, node: Node, audio: Tensor, sample_rate: int, item_gen: torch.Generator) -> tuple[int, Tensor, ItemTrace, torch.Generator]:
        """One item: draw ``r`` from ``item_gen``, decode its entry (or compute and store it); ``(seed, audio, trace, gen)``."""
        content = clip_hash(audio, sample_rate)
        r = int(torch.randint(self.k, (1,), generator=item_gen))
        seed = realisation_seed(self.seed, content, r)
        key = self.key(content, node, r, sample_rate)
        streams = self.read(key)
        if streams is None:
            self.misses += 1
            if not self._miss_logged:
                log.info("CodecCache %s: no entry for realisation %d of a clip under %s; coding it on the fly "
                         "(further misses are not logged)", self.root, r, node.label())
                self._miss_logged = True
        else:
            self.hits += 1
        out, trace, gen, tape = realise(node, audio, sample_rate, seed, streams)
        if streams is None and self.write:
            self.store(key, tape.streams)
        return seed, out, trace, gen


def _build_one(task: dict[str, Any]) -> int:
    """Worker task of ``build_cache``: code realisation ``r`` of one clip under one variant and store it."""
    from ._items import at_rate, read_item

    cache = CodecCache(task["root"], k=task["k"], seed=task["seed"])
    node = from_dict(task["node"])
    raw = read_item(task["clip"], task["clip"])
    audio = at_rate(raw, task["sample_rate"])
    content = clip_hash(audio, task["sample_rate"])
    key = cache.key(content, node, task["r"], task["sample_rate"])
    shared = cache.shared
    done = cache.path(key) if shared is None else shared.path(cache._shared_key(key))
    if done.is_file():
        return int(done.stat().st_size)
    _, _, _, tape = realise(node, audio, task["sample_rate"], realisation_seed(cache.seed, content, task["r"]), None)
    return cache.store(key, tape.streams)


def build_cache(
    clips: Sequence[str | os.PathLike[str]],
    variants: Sequence[Node],
    *,
    out: str | os.PathLike[str],
    k: int,
    sample_rate: int,
    seed: int = 0,
    workers: int = 1,
) -> dict[str, Any]:
    """Code ``k`` realisations of every clip (paths) under the CPU part of every variant into ``out``.

    Runs on the sweep's ``WorkerPool`` (``workers`` processes; 0 or 1 = in process).
    Returns a summary: entries, bytes on disk, seconds.
    """
    from ..runners.pool import WorkerPool

    if int(k) < 1:
        raise ValueError(f"Expected `k` >= 1 realisations per clip, got {k}")
    root = Path(out).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    parts = [v.split_by_placement()[0].to_dict() for v in variants]
    (root / META_NAME).write_text(json.dumps({"k": int(k), "seed": int(seed), "sample_rate": int(sample_rate),
                                              "variants": parts}, indent=1))
    tasks = [{"root": str(root), "k": int(k), "seed": int(seed), "node": part, "clip": str(clip), "r": r,
              "sample_rate": int(sample_rate)} for clip in clips for part in parts for r in range(int(k))]
    start = time.perf_counter()
    with WorkerPool(int(workers)) as pool:
        sizes = list(pool.imap(_build_one, tasks))
    summary = {"entries": len(sizes), "bytes": int(sum(sizes)), "seconds": time.perf_counter() - start,
               "clips": len(clips), "variants": len(parts), "k": int(k)}
    log.info("CodecCache %s: %d entries, %.1f MB, %.1f s", root, summary["entries"], summary["bytes"] / 1e6, summary["seconds"])
    return summary
