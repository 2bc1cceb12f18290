"""The sweep's execution engine: load, corrupt, score and store the pending (clip, cell) pairs.

Clips are processed in the plan's groups (``plan.py``). For each group:

1. the clips' audio is loaded (``audiostress.audio.load``); a clip that fails to
   load gets an error row for every pending cell;
2. the group's CPU-placed cells (codecs, and cascades with a codec stage: the
   whole node runs per item on CPU) are queued to the worker pool, which a
   background thread drains into a result queue;
3. meanwhile the main thread scores the clean cell (once per clip) and the
   device-placed cells: one batch per cell holding the whole group (per sample
   rate and channel count, padded to the longest clip, with ``lengths``) on the
   detector's device. The batch is the same group whatever the batch size or
   resume point, so batched float kernels give the same bits;
4. then the previous group's CPU results are scored in detector batches, so
   the pool is already coding this group while the detector works.

Memory is bounded by two groups of clean audio plus the items in flight.
Every row is written to the store batch by batch (one transaction each).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..audio import AudioError, load
from ..measure import snr_db
from ..seeding import make_generator
from .corrupt_worker import CorruptResult, corrupt_item, one_line
from .grid import Cell, Grid
from .plan import Plan, Unit, pair_seed


class SweepAbort(RuntimeError):
    """Raised in strict mode on the first error (the message names the clip and cell)."""


@dataclass
class _Item:
    """One corrupted (or clean) clip waiting for the detector."""

    unit: Unit
    audio: torch.Tensor
    sample_rate: int
    snr_db: float | None
    corrupt_ms: float


@dataclass
class _Loaded:
    """A group of clips: their clean audio (clips that failed to load are absent) and pending CPU units."""

    indices: list[int]
    audio: dict[int, tuple[torch.Tensor, int]] = field(default_factory=dict)
    cpu_units: list[Unit] = field(default_factory=list)


_STOP = object()


class _CpuFeeder:
    """Runs ``pool.imap(corrupt_item, ...)`` in a background thread over a growing input queue."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.outbox: queue.Queue[Any] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="audiostress-cpu-feeder", daemon=True)
        self.thread.start()

    def _payloads(self) -> Iterator[Any]:
        while True:
            item = self.inbox.get()
            if item is _STOP:
                return
            yield item

    def _run(self) -> None:
        try:
            for result in self.pool.imap(corrupt_item, self._payloads()):
                self.outbox.put(result)
        except BaseException as exc:  # surfaced to the main thread by ``get``
            self.outbox.put(exc)

    def submit(self, payload: Any) -> None:
        self.inbox.put(payload)

    def get(self) -> CorruptResult:
        result = self.outbox.get()
        if isinstance(result, BaseException):
            raise RuntimeError(f"CPU worker pool failed: {result}") from result
        return result

    def close(self) -> None:
        self.inbox.put(_STOP)
        self.thread.join()


class Engine:
    """Runs a plan: see the module docstring. ``write`` receives batches of score rows."""

    def __init__(
        self,
        plan: Plan,
        grid: Grid,
        detector: Any,
        write: Callable[[list[dict[str, Any]]], None],
        *,
        batch_size: int,
        device: torch.device,
        strict: bool = False,
    ) -> None:
        self.plan = plan
        self.cells = {c.cell_id: c for c in grid.cells}
        self.node_dicts = {c.cell_id: c.node.to_dict() for c in grid.cells}  # CPU payloads
        self.detector = detector
        self.write = write
        self.batch_size = max(1, int(batch_size))
        self.device = device
        self.strict = strict
        self._pending: dict[int, list[_Item]] = {}

    # -- the loop --------------------------------------------------------------------
    def run(self, pool: Any) -> None:
        feeder = _CpuFeeder(pool)
        previous: _Loaded | None = None
        try:
            for group in self.plan.pending_groups():
                loaded = self._load(group)
                for unit in loaded.cpu_units:
                    audio, sr = loaded.audio[unit.clip_index]
                    feeder.submit((self.node_dicts[unit.cell_id], audio.numpy(), sr, unit.seed))
                self._score_clean_and_device(loaded)
                if previous is not None:
                    self._drain_cpu(previous, feeder)
                previous = loaded
            if previous is not None:
                self._drain_cpu(previous, feeder)
        finally:
            feeder.close()

    def _load(self, group: Sequence[int]) -> _Loaded:
        loaded = _Loaded(list(group))
        for i in group:
            clip = self.plan.clips[i]
            units = self.plan.units(i)
            try:
                audio, sr = load(clip.path)
            except AudioError as exc:
                self._fail(units, f"audio failed to load: {exc}")
                continue
            except Exception as exc:  # anything else a decoder may raise
                self._fail(units, f"audio failed to load: {type(exc).__name__}: {exc}")
                continue
            loaded.audio[i] = (audio, sr)
            loaded.cpu_units += [u for u in units if self.cells[u.cell_id].node.placement == "cpu"]
        return loaded

    # -- clean and device-placed cells ----------------------------------------------------
    def _score_clean_and_device(self, loaded: _Loaded) -> None:
        present = [i for i in loaded.indices if i in loaded.audio]
        for cell_id in self.plan.cell_ids:
            cell = self.cells[cell_id]
            if cell.node.placement == "cpu" or not any(self.plan.is_pending(i, cell_id) for i in present):
                continue
            if cell.corruption == "clean":
                for i in present:
                    if self.plan.is_pending(i, cell_id):
                        audio, sr = loaded.audio[i]
                        self._add(_Item(self._unit(i, cell_id), audio, sr, None, 0.0))
                continue
            # One device batch per sample rate and channel count, holding the whole group.
            by_format: dict[tuple[int, int], list[int]] = {}
            for i in present:
                audio, sr = loaded.audio[i]
                by_format.setdefault((sr, audio.shape[0]), []).append(i)
            for (sr, _), group in by_format.items():
                self._corrupt_on_device(cell, [self._unit(i, cell_id) for i in group], loaded, sr)
        self._flush_all()

    def _unit(self, clip_index: int, cell_id: str) -> Unit:
        clip_id = self.plan.clips[clip_index].clip_id
        return Unit(clip_index, clip_id, cell_id, pair_seed(self.plan.seed, clip_id, cell_id))

    def _corrupt_on_device(self, cell: Cell, units: list[Unit], loaded: _Loaded, sr: int) -> None:
        clips = [loaded.audio[u.clip_index][0] for u in units]
        start = time.perf_counter()
        try:
            outs, snrs = corrupt_batch(cell, clips, sr, [u.seed for u in units], self.device)
        except Exception as exc:
            if len(units) == 1:
                if self.plan.is_pending(units[0].clip_index, cell.cell_id):
                    self._fail(units, f"corruption {cell.corruption} failed: {one_line(exc)}")
                return
            for u in units:  # isolate the item that breaks the batch
                self._corrupt_on_device(cell, [u], loaded, sr)
            return
        per_item_ms = (time.perf_counter() - start) * 1e3 / len(units)
        for u, out, snr in zip(units, outs, snrs):
            if not self.plan.is_pending(u.clip_index, cell.cell_id):
                continue  # computed only to keep the batch's composition
            if not bool(torch.isfinite(out).all()):
                self._fail([u], f"corruption {cell.corruption} produced NaN or Inf samples")
                continue
            self._add(_Item(u, out, sr, snr, per_item_ms))

    # -- CPU-placed cells ----------------------------------------------------------------
    def _drain_cpu(self, loaded: _Loaded, feeder: _CpuFeeder) -> None:
        for unit in loaded.cpu_units:
            result = feeder.get()
            if result.error is not None:
                self._fail([unit], result.error)
                continue
            sr = loaded.audio[unit.clip_index][1]
            audio = torch.from_numpy(result.audio)
            self._add(_Item(unit, audio, sr, result.snr_db, result.elapsed_ms))
        self._flush_all()

    # -- detector batches ------------------------------------------------------------------
    def _add(self, item: _Item) -> None:
        batch = self._pending.setdefault(item.sample_rate, [])
        batch.append(item)
        if len(batch) >= self.batch_size:
            self._pending[item.sample_rate] = []
            self._score(batch)

    def _flush_all(self) -> None:
        for sr in sorted(self._pending):
            batch = self._pending.pop(sr)
            if batch:
                self._score(batch)

    def _score(self, items: list[_Item]) -> None:
        start = time.perf_counter()
        try:
            raw, p = self._detect(items)
        except Exception as exc:
            if len(items) == 1:
                self._fail([items[0].unit], f"detector failed: {one_line(exc)}", items[0].corrupt_ms)
                return
            for item in items:  # retry one by one to isolate the culprit
                self._score([item])
            return
        detect_ms = (time.perf_counter() - start) * 1e3 / len(items)
        rows = [
            self._row(it.unit, float(r), float(q), it.snr_db, None, it.corrupt_ms + detect_ms)
            for it, r, q in zip(items, raw, p)
        ]
        self.write(rows)

    def _detect(self, items: list[_Item]) -> tuple[list[float], list[float]]:
        sr = items[0].sample_rate
        scores = self.detector.score(
            [it.audio for it in items], sr, clip_ids=[it.unit.clip_id for it in items],
            generators=[make_generator(it.unit.seed) for it in items],
        )
        raw = scores.raw_score.detach().to("cpu", torch.float64).reshape(-1).tolist()
        p = scores.p_fake.detach().to("cpu", torch.float64).reshape(-1).tolist()
        if len(raw) != len(items) or len(p) != len(items):
            raise RuntimeError(f"expected {len(items)} scores, got {len(raw)} raw and {len(p)} p_fake")
        bad = [it.unit.clip_id for it, r, q in zip(items, raw, p) if not (math.isfinite(r) and math.isfinite(q))]
        if bad:
            raise RuntimeError(f"non-finite score for {', '.join(bad)}")
        return raw, p

    # -- rows ------------------------------------------------------------------------------
    def _row(self, unit: Unit, raw: float | None, p: float | None, snr: float | None, error: str | None, ms: float) -> dict[str, Any]:
        clip = self.plan.clips[unit.clip_index]
        cell = self.cells[unit.cell_id]
        return {
            "clip_id": clip.clip_id, "label": clip.label, "attack": clip.attack, "cell_id": cell.cell_id,
            "corruption": cell.corruption, "severity": cell.severity, "raw_score": raw, "p_fake": p,
            "measured_snr_db": snr, "error": error, "elapsed_ms": ms,
        }  # fmt: skip

    def _fail(self, units: Sequence[Unit], message: str, ms: float = 0.0) -> None:
        if self.strict and units:
            u = units[0]
            raise SweepAbort(f"{u.clip_id} / {u.cell_id}: {message} (--strict stops at the first error)")
        self.write([self._row(u, None, None, None, message, ms) for u in units])


def corrupt_batch(
    cell: Cell, clips: Sequence[torch.Tensor], sample_rate: int, seeds: Sequence[int], device: torch.device
) -> tuple[list[torch.Tensor], list[float]]:
    """Corrupt clips of one sample rate and channel count as one padded batch on ``device``.

    Returns each corrupted clip cropped to its own length (on ``device``) and its
    measured SNR against the clean clip.
    """
    channels = clips[0].shape[0]
    longest = max(c.shape[-1] for c in clips)
    batch = torch.zeros(len(clips), channels, longest, dtype=torch.float32)
    for i, c in enumerate(clips):
        batch[i, : c.shape[0], : c.shape[-1]] = c
    lengths = torch.tensor([c.shape[-1] for c in clips], dtype=torch.long)
    batch = batch.to(device)
    out = cell.node.apply_items(batch, sample_rate, [make_generator(s) for s in seeds], lengths)
    snrs = snr_db(batch, out, lengths).tolist()
    return [out[i, : c.shape[0], : c.shape[-1]] for i, c in enumerate(clips)], snrs
