"""The sweep's execution engine: load, corrupt, score and store the pending (clip, cell) pairs.

Clips are processed in the plan's groups (``plan.py``, about 8 clips each). The
unit of work is a (group, cell): when any pair of it is pending, the cell is
computed for every loaded clip of the group and the detector scores all of them
in **one** ``Detector.score`` call (per sample rate), in plan order, never mixed
with another cell or group; only the pending pairs' rows are written. Batched
float kernels (FFTs, convolutions, matmuls) round differently for different
batch compositions, so fixing the composition to the (group, cell) makes scores
bit-identical whatever the resume point, worker count or shard, and whatever
``--batch-size`` as long as one group's windows fit in a batch (the detector
splits a call into forwards of at most ``batch_size`` windows).

For each group:

1. the clips' audio is loaded (``audiostress.audio.load``); a clip that fails to
   load gets an error row for every pending cell;
2. the group's CPU-placed cells (codecs, and cascades with a codec stage: the
   whole node runs per item on CPU) are queued to the worker pool, cell by
   cell, which a background thread drains into a bounded result queue;
3. meanwhile the main thread scores the clean cell and the device-placed cells:
   one corruption batch per cell holding the whole group (per sample rate and
   channel count, padded to the longest clip, with ``lengths``) on the
   detector's device, then one detector call for the cell;
4. then the previous group's CPU results are collected cell by cell and each
   cell is scored in one detector call, so the pool is already coding this
   group while the detector works.

Memory holds two groups of clean audio, one (group, cell) of corrupted audio on
the main thread, at most ``max_in_flight`` CPU results in the pool, and at most
one group's worth of CPU results (``CPU_RESULTS_PER_CELL`` per CPU cell) in the
result queue, so the codecs can run a group ahead of the detector. Every (group, cell) is written in one transaction.
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
from .corrupt_worker import CorruptResult, corrupt_item, crashed_item, one_line
from .grid import Cell, Grid
from .plan import GROUP_CLIPS, Plan, Unit

#: How often a blocked queue operation re-checks for cancellation (s).
_POLL_S = 0.05


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
    """A group of clips: their clean audio (clips that failed to load are absent) and queued CPU cells."""

    indices: list[int]
    audio: dict[int, tuple[torch.Tensor, int]] = field(default_factory=dict)
    #: CPU-placed cells sent to the pool, in submission order: (cell_id, units of every loaded clip).
    cpu_cells: list[tuple[str, list[Unit]]] = field(default_factory=list)

    @property
    def present(self) -> list[int]:
        return [i for i in self.indices if i in self.audio]


_STOP = object()
#: Corrupted CPU results allowed to wait per CPU-placed cell: one group's worth, so the
#: codecs can code a whole group ahead while the detector scores the previous one. The
#: bound depends on the grid and the group size, never on the dataset size.
CPU_RESULTS_PER_CELL = GROUP_CLIPS


class _CpuFeeder:
    """Runs ``pool.imap(work, ...)`` in a background thread over a growing input queue.

    Results wait in ``outbox``, bounded by ``max_results`` (default: the pool's
    ``max_in_flight``), so the pool never runs further ahead of the detector
    than its window plus that many results. Results are FIFO and the engine
    drains a group's results before it asks for the next group's, so the
    bounded queue cannot deadlock: whenever the engine waits, the queue is empty.
    """

    def __init__(self, pool: Any, work: Callable[[Any], CorruptResult], max_results: int | None = None) -> None:
        self.pool = pool
        self.work = work
        size = max_results if max_results is not None else int(getattr(pool, "max_in_flight", 2))
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.outbox: queue.Queue[Any] = queue.Queue(maxsize=max(1, size))
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="audiostress-cpu-feeder", daemon=True)
        self.thread.start()

    def _payloads(self) -> Iterator[Any]:
        while not self.stopping.is_set():
            try:
                item = self.inbox.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if item is _STOP:
                return
            yield item

    def _put(self, result: Any) -> bool:
        while not self.stopping.is_set():
            try:
                self.outbox.put(result, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        results = self.pool.imap(self.work, self._payloads(), on_crash=crashed_item)
        try:
            for result in results:
                if not self._put(result):
                    break
        except BaseException as exc:  # surfaced to the main thread by ``get``
            self._put(exc)
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()

    def submit(self, payload: Any) -> None:
        self.inbox.put(payload)

    def get(self) -> CorruptResult:
        result = self.outbox.get()
        if isinstance(result, BaseException):
            raise RuntimeError(f"CPU worker pool failed: {result}") from result
        return result

    def close(self) -> None:
        """Stop the thread (also when the engine stops early with results still queued)."""
        self.inbox.put(_STOP)
        self.stopping.set()
        self.thread.join()


class Engine:
    """Runs a plan: see the module docstring. ``write`` receives the score rows of one (group, cell) at a time."""

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
        work: Callable[[Any], CorruptResult] | None = None,
    ) -> None:
        self.plan = plan
        self.cells = {c.cell_id: c for c in grid.cells}
        self.node_dicts = {c.cell_id: c.node.to_dict() for c in grid.cells}  # CPU payloads
        self.detector = detector
        self.write = write
        self.batch_size = max(1, int(batch_size))  # the detector's own cap on windows per forward
        self.device = device
        self.strict = strict
        # The pool's per-item function (module level, so spawned workers can import it).
        self.work = work if work is not None else corrupt_item

    def cpu_result_window(self, pool: Any) -> int:
        """How many corrupted CPU results may wait for the detector (see ``CPU_RESULTS_PER_CELL``)."""
        n_cpu_cells = sum(1 for c in self.cells.values() if c.node.placement == "cpu")
        return max(int(getattr(pool, "max_in_flight", 1)), CPU_RESULTS_PER_CELL * n_cpu_cells)

    # -- the loop --------------------------------------------------------------------
    def run(self, pool: Any) -> None:
        feeder = _CpuFeeder(pool, self.work, max_results=self.cpu_result_window(pool))
        previous: _Loaded | None = None
        try:
            for group in self.plan.pending_groups():
                loaded = self._load(group)
                for _, units in loaded.cpu_cells:
                    for unit in units:
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
            try:
                audio, sr = load(clip.path)
            except AudioError as exc:
                self._fail(self.plan.units(i), f"audio failed to load: {exc}")
                continue
            except Exception as exc:  # anything else a decoder may raise
                self._fail(self.plan.units(i), f"audio failed to load: {type(exc).__name__}: {exc}")
                continue
            loaded.audio[i] = (audio, sr)
        for cell_id in self.plan.cell_ids:
            if self.cells[cell_id].node.placement == "cpu":
                units = self._cell_units(loaded, cell_id)
                if units:
                    loaded.cpu_cells.append((cell_id, units))
        return loaded

    def _cell_units(self, loaded: _Loaded, cell_id: str) -> list[Unit]:
        """Every loaded clip of the group under ``cell_id`` when any of those pairs is pending, else nothing."""
        present = loaded.present
        if not any(self.plan.is_pending(i, cell_id) for i in present):
            return []
        return [self.plan.unit(i, cell_id) for i in present]

    # -- clean and device-placed cells ----------------------------------------------------
    def _score_clean_and_device(self, loaded: _Loaded) -> None:
        for cell_id in self.plan.cell_ids:
            cell = self.cells[cell_id]
            if cell.node.placement == "cpu":
                continue
            units = self._cell_units(loaded, cell_id)
            if not units:
                continue
            if cell.corruption == "clean":
                items = [_Item(u, *loaded.audio[u.clip_index], None, 0.0) for u in units]
            else:
                items = self._corrupt_on_device(cell, units, loaded)
            self._score_cell(items)

    def _corrupt_on_device(self, cell: Cell, units: list[Unit], loaded: _Loaded) -> list[_Item]:
        """One padded batch per sample rate and channel count; items come back in plan order."""
        by_format: dict[tuple[int, int], list[Unit]] = {}
        for u in units:
            audio, sr = loaded.audio[u.clip_index]
            by_format.setdefault((sr, audio.shape[0]), []).append(u)
        done: dict[Unit, _Item] = {}
        for (sr, _), batch in by_format.items():
            for item in self._corrupt_batch_isolating(cell, batch, loaded, sr):
                done[item.unit] = item
        return [done[u] for u in units if u in done]

    def _corrupt_batch_isolating(self, cell: Cell, units: list[Unit], loaded: _Loaded, sr: int) -> list[_Item]:
        clips = [loaded.audio[u.clip_index][0] for u in units]
        start = time.perf_counter()
        try:
            outs, snrs = corrupt_batch(cell, clips, sr, [u.seed for u in units], self.device)
        except Exception as exc:
            if len(units) == 1:
                if self.plan.is_pending(units[0].clip_index, cell.cell_id):
                    self._fail(units, f"corruption {cell.corruption} failed: {one_line(exc)}")
                return []
            items: list[_Item] = []
            for u in units:  # isolate the item that breaks the batch
                items += self._corrupt_batch_isolating(cell, [u], loaded, sr)
            return items
        per_item_ms = (time.perf_counter() - start) * 1e3 / len(units)
        items = []
        for u, out, snr in zip(units, outs, snrs):
            if not bool(torch.isfinite(out).all()):
                if self.plan.is_pending(u.clip_index, cell.cell_id):
                    self._fail([u], f"corruption {cell.corruption} produced NaN or Inf samples")
                continue
            items.append(_Item(u, out, sr, snr, per_item_ms))
        return items

    # -- CPU-placed cells ----------------------------------------------------------------
    def _drain_cpu(self, loaded: _Loaded, feeder: _CpuFeeder) -> None:
        """Collect the group's CPU results cell by cell (submission order) and score each cell in one call."""
        for cell_id, units in loaded.cpu_cells:
            items: list[_Item] = []
            for unit in units:
                result = feeder.get()
                if result.error is not None:
                    if self.plan.is_pending(unit.clip_index, cell_id):
                        self._fail([unit], result.error, result.elapsed_ms)
                    continue
                sr = loaded.audio[unit.clip_index][1]
                items.append(_Item(unit, torch.from_numpy(result.audio), sr, result.snr_db, result.elapsed_ms))
            self._score_cell(items)

    # -- the detector: one call per (group, cell) and sample rate ------------------------------
    def _score_cell(self, items: list[_Item]) -> None:
        """Score one (group, cell) in one detector call per sample rate; write the pending pairs' rows."""
        by_rate: dict[int, list[_Item]] = {}
        for it in items:
            by_rate.setdefault(it.sample_rate, []).append(it)
        rows: list[dict[str, Any]] = []
        for batch in by_rate.values():
            rows += self._score(batch)
        if rows:
            self.write(rows)

    def _score(self, items: list[_Item]) -> list[dict[str, Any]]:
        start = time.perf_counter()
        try:
            raw, p = self._detect(items)
        except Exception as exc:
            if len(items) == 1:
                if self._pending(items[0]):
                    self._fail([items[0].unit], f"detector failed: {one_line(exc)}", items[0].corrupt_ms)
                return []
            rows: list[dict[str, Any]] = []
            for item in items:  # retry one by one to isolate the culprit
                rows += self._score([item])
            return rows
        detect_ms = (time.perf_counter() - start) * 1e3 / len(items)
        return [
            self._row(it.unit, float(r), float(q), it.snr_db, None, it.corrupt_ms + detect_ms)
            for it, r, q in zip(items, raw, p)
            if self._pending(it)  # the others were scored only to keep the call's composition
        ]

    def _pending(self, item: _Item) -> bool:
        return self.plan.is_pending(item.unit.clip_index, item.unit.cell_id)

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
        if units:
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
