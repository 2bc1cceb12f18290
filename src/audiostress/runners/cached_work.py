"""The corrupted-audio cache's steps around the engine's corruption steps (``work.py``).

``CachedCorruption`` binds a ``CorruptCache`` (``cache.py``) to one sweep's
settings (corruption rate, device, batch cap) and gives the engine three calls:

- ``hold(task)`` before a CPU task goes to the pool: a hit is kept back (the
  pool never sees it) and ``True`` is returned;
- ``take(unit, get, work)`` when the engine collects that unit's CPU result:
  a held hit is read from the cache (recomputed in process with ``work`` if a
  concurrent sweep evicted it in between); otherwise the next result comes from
  the pool (``get``) and is stored. The pool's results stay FIFO because hits
  are never submitted;
- ``on_device(...)``, ``work.corrupt_on_device`` with the cache: a device cell
  is computed in padded batches, and batched float kernels round by batch
  composition, so its entries are keyed by the whole (group, cell) input too
  (every clip's content, seed and shape, the batch cap and the device). The
  (group, cell) is read back when every clip hits, else computed and stored.

A CPU entry's key is (clip content hash, node ``to_dict()``, pair seed, corrupt
rate, chunk size, library versions); the clip content hash is the sha256 of the
clean samples the corruption receives (after loading and resampling), so a new
decoder or resampler can never serve stale audio. Each entry keeps the measured
SNR, so ``measured_snr_db`` comes back identical. Only successful results are
stored: failures are recomputed, and give the same error rows. The time a pair
reports (``elapsed_ms``) is what this run spent, so a hit reports its read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from .cache import CorruptCache, clip_hash, entry_key, library_versions
from .corrupt_worker import CorruptResult, CpuTask
from .grid import Cell
from .plan import Plan, Unit
from .work import MAX_BATCH_SAMPLES, Corrupted, Failure, LoadedGroup, corrupt_on_device

__all__ = ["CachedCorruption", "device_name"]

log = logging.getLogger("audiostress.cache")


def device_name(device: torch.device) -> str:
    """The device part of a device cell's key: ``cpu``, or the CUDA/MPS device's type and model."""
    if device.type == "cuda" and torch.cuda.is_available():
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return device.type


class CachedCorruption:
    """One sweep's use of a ``CorruptCache`` (see the module docstring); counts ``hits``, ``computed``, ``stored``."""

    def __init__(
        self, cache: CorruptCache, *, corrupt_rate: int | None, device: torch.device,
        max_batch_samples: int = MAX_BATCH_SAMPLES,
    ) -> None:  # fmt: skip
        self.cache = cache
        self.corrupt_rate = corrupt_rate
        self.device = device
        self.max_batch_samples = max_batch_samples
        self.hits = 0
        self.computed = 0
        self._held: dict[tuple[str, str], tuple[str, CpuTask, bool]] = {}
        self._base = {"rate": corrupt_rate, "versions": library_versions()}

    # -- CPU cells -----------------------------------------------------------------------------
    def cpu_key(self, task: CpuTask) -> str:
        """The entry key of one CPU task."""
        content = clip_hash(torch.from_numpy(np.ascontiguousarray(task.audio)), task.sample_rate)
        return entry_key({**self._base, "kind": "cpu", "clip": content, "node": task.node, "seed": int(task.seed),
                          "chunk": task.chunk})  # fmt: skip

    def hold(self, task: CpuTask) -> bool:
        """Whether ``task`` is a hit (keep it from the pool); either way ``take`` gives its result later."""
        key = self.cpu_key(task)
        hit = self.cache.path(key).is_file()
        self._held[task.key] = (key, task, hit)
        return hit

    def take(self, unit: Unit, get: Callable[[], CorruptResult], work: Callable[[CpuTask], CorruptResult]) -> CorruptResult:
        """The CPU result of ``unit``: from the cache when ``hold`` found it, else from ``get()`` (and stored)."""
        key, task, hit = self._held.pop((unit.clip_id, unit.cell_id))
        if hit:
            start = time.perf_counter()
            entry = self.cache.get(key)
            if entry is not None:
                self.hits += 1
                audio, meta = entry
                return CorruptResult(audio, meta.get("snr_db"), (time.perf_counter() - start) * 1e3, key=task.key)
            result = work(task)  # evicted since hold(): compute it here
        else:
            result = get()
        self.computed += 1
        if result.error is None and result.audio is not None:
            self.cache.put(key, result.audio, {"snr_db": result.snr_db, "corrupt_ms": result.elapsed_ms})
        return result

    # -- device cells --------------------------------------------------------------------------
    def device_keys(self, cell: Cell, units: Sequence[Unit], loaded: LoadedGroup, node: dict[str, Any]) -> list[str]:
        """The entry key of each unit of one device (group, cell): its own input and the whole call's."""
        members = []
        for u in units:
            audio, sr = loaded.audio[u.clip_index]
            members.append([clip_hash(audio, sr), int(u.seed), list(audio.shape), int(sr)])
        batch = entry_key({"members": members, "cap": self.max_batch_samples, "device": device_name(self.device)})
        return [
            entry_key({**self._base, "kind": "device", "node": node, "batch": batch, "clip": m[0], "seed": m[1],
                       "position": k})
            for k, m in enumerate(members)
        ]  # fmt: skip

    def on_device(
        self, plan: Plan, cell: Cell, units: Sequence[Unit], loaded: LoadedGroup, device: torch.device,
        max_batch_samples: int = MAX_BATCH_SAMPLES,
    ) -> tuple[list[Corrupted], list[Failure]]:  # fmt: skip
        """``work.corrupt_on_device`` through the cache: read back when every unit hits, else compute and store."""
        keys = self.device_keys(cell, units, loaded, cell.node.to_dict())
        if all(self.cache.path(k).is_file() for k in keys):
            start = time.perf_counter()
            entries = [e for e in (self.cache.get(k) for k in keys) if e is not None]
            if len(entries) == len(keys):
                ms = (time.perf_counter() - start) * 1e3 / max(1, len(keys))
                self.hits += len(keys)
                return [
                    Corrupted(u, torch.from_numpy(a).to(device), loaded.audio[u.clip_index][1], meta.get("snr_db"), ms)
                    for u, (a, meta) in zip(units, entries)
                ], []
        items, failures = corrupt_on_device(plan, cell, units, loaded, device, max_batch_samples)
        self.computed += len(units)
        by_unit = dict(zip(units, keys))
        for it in items:
            audio = it.audio.detach().to("cpu").contiguous().numpy()
            self.cache.put(by_unit[it.unit], audio, {"snr_db": it.snr_db, "corrupt_ms": it.corrupt_ms})
        return items, failures

    # -- end -----------------------------------------------------------------------------------
    def finish(self) -> None:
        """Write the access times and log the counts (INFO): hits, computed, stored, evicted, size."""
        self.cache.flush()
        log.info(
            "corrupted-audio cache %s: %d hits, %d computed, %d stored (%.1f MB), %d evicted; %d entries, %.1f MB",
            self.cache.root, self.hits, self.computed, self.cache.stored, self.cache.stored_bytes / 1e6,
            self.cache.evicted, self.cache.entries(), self.cache.size_bytes() / 1e6,
        )  # fmt: skip
