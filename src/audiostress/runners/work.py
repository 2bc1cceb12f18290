"""The sweep's pure steps: load a group, corrupt a cell on the device, corrupt an item on CPU,
score a cell, turn results into rows.

Each step is a module-level function of its inputs (the plan, a cell, a loaded
group, the detector, a device) and returns data: the items it produced and the
``Failure`` of each pending pair it could not produce. None keeps state between
calls, so the local scheduler (``engine.py``) and an engine that runs steps in
other processes compose the same steps and get the same bytes.

Only pending pairs give results: a pair the store already holds is corrupted and
scored when its (group, cell) runs, so the batch keeps its composition, but its
row and its failure are dropped.

Batches are bounded by samples, not clips (``pack``): a padded device batch and a
detector call hold at most ``max_batch_samples`` (longest clip x clips x
channels); the clips of a (group, cell) are packed in plan order, so the batches
are fixed for a given cap. A clip above the cap runs alone, in chunks where the
corruption allows it (``corrupt_worker.CHUNKABLE``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..audio import AudioError, load, resample
from ..measure import snr_db
from ..seeding import make_generator
from .corrupt_worker import CorruptResult, CpuTask, can_chunk, clip_snr_db, corrupt_chunked, one_line
from .grid import Cell
from .plan import Plan, Unit
from .rows import ScoreRow

#: Default cap of a padded batch, in samples (longest clip x clips x channels): 2**21, 8 MiB
#: of float32, 131 s of 16 kHz mono. The heaviest built-in corruptions need 200-350 bytes
#: of working memory per input sample (pitch_shift's float64 phase vocoder, the FFT
#: filters, a codec's resampler), so a batch at the cap peaks near 0.7 GB, and a device
#: batch plus a codec chunk running beside it stay well under 3 GB with torch loaded.
#: A group of 8 clips of 16 s at 16 kHz (2.05 M samples) still fits in one batch.
MAX_BATCH_SAMPLES = 1 << 21

try:  # the detectors' contract error: a model output that breaks the OutputSpec
    from ..detectors.base import DetectorContractError as _ContractError
except ImportError:  # pragma: no cover - an older detectors package: nothing is a contract error

    class _ContractError(Exception):  # type: ignore[no-redef]
        """Never raised: stands in for ``DetectorContractError`` where it does not exist."""

__all__ = [
    "MAX_BATCH_SAMPLES", "Corrupted", "Failure", "LoadedGroup", "Scored", "cell_units", "clean_items", "collect_cpu",
    "corrupt_batch", "corrupt_on_device", "cpu_tasks", "detect", "load_group", "pack", "score_cell", "to_rows",
]  # fmt: skip


@dataclass(frozen=True)
class Failure:
    """A pending pair that gives an error row: why, and the time spent on it."""

    unit: Unit
    message: str
    elapsed_ms: float = 0.0
    #: Extra detector attempts made for this pair, and why (``ScoreRow.retries``/``note``).
    retries: int = 0
    note: str | None = None


@dataclass(frozen=True)
class Corrupted:
    """One corrupted (or clean) clip waiting for the detector."""

    unit: Unit
    audio: torch.Tensor
    sample_rate: int
    snr_db: float | None
    corrupt_ms: float


@dataclass(frozen=True)
class Scored:
    """The detector's score of one pending pair."""

    unit: Unit
    raw_score: float
    p_fake: float
    snr_db: float | None
    elapsed_ms: float
    retries: int = 0
    note: str | None = None
    detect_ms: float | None = None
    audio_s: float | None = None


@dataclass
class LoadedGroup:
    """A group of clips (plan indices) and the clean audio of those that loaded."""

    indices: list[int]
    audio: dict[int, tuple[torch.Tensor, int]] = field(default_factory=dict)
    #: Pending pairs of the clips that failed to load.
    failures: list[Failure] = field(default_factory=list)

    @property
    def present(self) -> list[int]:
        """The indices of the clips that loaded, in plan order."""
        return [i for i in self.indices if i in self.audio]


# -- load ---------------------------------------------------------------------------------------
def load_group(
    plan: Plan, group: Sequence[int], loader: Callable[[Any], tuple[torch.Tensor, int]] = load,
    corrupt_rate: int | None = None,
) -> LoadedGroup:  # fmt: skip
    """Load a group's clips; a clip that fails to load fails every pending cell of it.

    With ``corrupt_rate`` each clip is resampled to it right after loading
    (``audio.resample``), so the clean cell and every corruption see one rate;
    ``None`` keeps each file's native rate.
    """
    loaded = LoadedGroup(list(group))
    for i in group:
        try:
            audio, sr = loader(plan.clips[i].path)
            if corrupt_rate is not None and int(sr) != int(corrupt_rate):
                audio, sr = resample(audio, int(sr), int(corrupt_rate)).contiguous(), int(corrupt_rate)
        except AudioError as exc:
            loaded.failures += [Failure(u, f"audio failed to load: {exc}") for u in plan.units(i)]
        except Exception as exc:  # anything else a decoder may raise
            message = f"audio failed to load: {type(exc).__name__}: {exc}"
            loaded.failures += [Failure(u, message) for u in plan.units(i)]
        else:
            loaded.audio[i] = (audio, sr)
    return loaded


def cell_units(plan: Plan, loaded: LoadedGroup, cell_id: str) -> list[Unit]:
    """Every loaded clip of the group under ``cell_id`` when any of those pairs is pending, else nothing."""
    present = loaded.present
    if not any(plan.is_pending(i, cell_id) for i in present):
        return []
    return [plan.unit(i, cell_id) for i in present]


def clean_items(units: Sequence[Unit], loaded: LoadedGroup) -> list[Corrupted]:
    """The clean cell: each clip as loaded, no SNR."""
    return [Corrupted(u, *loaded.audio[u.clip_index], None, 0.0) for u in units]


# -- batches bounded by samples ------------------------------------------------------------------
def pack(sizes: Sequence[tuple[int, int]], max_samples: int) -> list[list[int]]:
    """Positions of ``(length, channels)`` items packed into batches of at most ``max_samples`` padded samples.

    A batch costs its longest length x its item count x its most channels. An
    item above the cap gets a batch of its own (after the others); the rest are
    packed greedily in the given order, so the batches depend only on the sizes
    and the cap.

    >>> pack([(10, 1), (50, 1), (10, 1), (10, 1)], 40)
    [[0, 2, 3], [1]]
    >>> pack([(10, 2), (10, 2), (10, 2)], 40)
    [[0, 1], [2]]
    """
    if isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 1:
        raise ValueError(f"Expected `max_batch_samples` to be a positive integer, got {max_samples!r}")
    batches: list[list[int]] = []
    alone: list[list[int]] = []
    current: list[int] = []
    longest = channels = 0
    for k, (length, ch) in enumerate(sizes):
        if length * ch > max_samples:
            alone.append([k])
            continue
        grown = max(longest, length) * (len(current) + 1) * max(channels, ch)
        if current and grown > max_samples:
            batches.append(current)
            current, longest, channels = [], 0, 0
        current.append(k)
        longest, channels = max(longest, length), max(channels, ch)
    if current:
        batches.append(current)
    return batches + alone


# -- corrupt on the device --------------------------------------------------------------------------
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


def corrupt_on_device(
    plan: Plan, cell: Cell, units: Sequence[Unit], loaded: LoadedGroup, device: torch.device,
    max_batch_samples: int = MAX_BATCH_SAMPLES,
) -> tuple[list[Corrupted], list[Failure]]:  # fmt: skip
    """Padded batches per sample rate and channel count, packed by ``pack``; items come back in plan order.

    A batch that raises is split to isolate the clip that breaks it; a clip
    whose output holds NaN or Inf fails alone. A clip above the cap is corrupted
    alone, in chunks of the cap when ``corrupt_worker.can_chunk`` allows it.
    """
    by_format: dict[tuple[int, int], list[Unit]] = {}
    for u in units:
        audio, sr = loaded.audio[u.clip_index]
        by_format.setdefault((sr, audio.shape[0]), []).append(u)
    done: dict[Unit, Corrupted] = {}
    failures: list[Failure] = []
    for (sr, channels), same in by_format.items():
        sizes = [(loaded.audio[u.clip_index][0].shape[-1], channels) for u in same]
        for batch in pack(sizes, max_batch_samples):
            members = [same[k] for k in batch]
            chunk = max_batch_samples // channels if sizes[batch[0]][0] * channels > max_batch_samples else None
            for item in _corrupt_isolating(plan, cell, members, loaded, sr, device, failures, chunk):
                done[item.unit] = item
    return [done[u] for u in units if u in done], failures


def _corrupt_long(cell: Cell, clip: torch.Tensor, sr: int, seed: int, device: torch.device, chunk: int) -> tuple[list[torch.Tensor], list[float]]:
    """One clip above the batch cap, alone: in chunks when the corruption allows it, else whole."""
    if not can_chunk(cell.node):
        return corrupt_batch(cell, [clip], sr, [seed], device)
    clean = clip.to(device)
    out = corrupt_chunked(cell.node, clean, sr, make_generator(seed), chunk)
    return [out], [clip_snr_db(clean, out)]


def _corrupt_isolating(
    plan: Plan, cell: Cell, units: list[Unit], loaded: LoadedGroup, sr: int, device: torch.device, failures: list[Failure],
    chunk: int | None = None,
) -> list[Corrupted]:  # fmt: skip
    clips = [loaded.audio[u.clip_index][0] for u in units]
    start = time.perf_counter()
    try:
        if chunk is not None:
            outs, snrs = _corrupt_long(cell, clips[0], sr, units[0].seed, device, chunk)
        else:
            outs, snrs = corrupt_batch(cell, clips, sr, [u.seed for u in units], device)
    except Exception as exc:
        if len(units) == 1:
            _fail(plan, failures, units[0], f"corruption {cell.corruption} failed: {one_line(exc)}")
            return []
        items: list[Corrupted] = []
        for u in units:  # isolate the item that breaks the batch
            items += _corrupt_isolating(plan, cell, [u], loaded, sr, device, failures)
        return items
    per_item_ms = (time.perf_counter() - start) * 1e3 / len(units)
    items = []
    for u, out, snr in zip(units, outs, snrs):
        if not bool(torch.isfinite(out).all()):
            _fail(plan, failures, u, f"corruption {cell.corruption} produced NaN or Inf samples")
            continue
        items.append(Corrupted(u, out, sr, snr, per_item_ms))
    return items


def _fail(
    plan: Plan, failures: list[Failure], unit: Unit, message: str, ms: float = 0.0, retries: int = 0,
    note: str | None = None,
) -> None:  # fmt: skip
    if plan.is_pending(unit.clip_index, unit.cell_id):
        failures.append(Failure(unit, message, ms, retries, note))


# -- corrupt on CPU ----------------------------------------------------------------------------
def cpu_tasks(
    cell: Cell, units: Sequence[Unit], loaded: LoadedGroup, node: dict[str, Any] | None = None,
    max_batch_samples: int = MAX_BATCH_SAMPLES,
) -> list[CpuTask]:  # fmt: skip
    """The worker-pool tasks of one (group, cell), in unit order (``node``: the cell's node dict, if already built).

    A clip above ``max_batch_samples`` is marked to be corrupted in chunks of the
    cap (where ``corrupt_worker.can_chunk`` allows it), so a worker's memory is
    bounded by the cap, not by the clip.
    """
    node_dict = node if node is not None else cell.node.to_dict()
    tasks = []
    for u in units:
        audio, sr = loaded.audio[u.clip_index]
        channels = max(1, int(audio.shape[0]))
        chunk = max_batch_samples // channels if audio.shape[-1] * channels > max_batch_samples else None
        tasks.append(CpuTask(u.clip_id, u.cell_id, node_dict, audio.numpy(), sr, u.seed, chunk))
    return tasks


def collect_cpu(
    plan: Plan, units: Sequence[Unit], results: Sequence[CorruptResult], loaded: LoadedGroup
) -> tuple[list[Corrupted], list[Failure]]:
    """Pair each CPU result with its unit, checking the key: a result of another pair raises ``RuntimeError``."""
    if len(results) != len(units):
        raise RuntimeError(f"expected {len(units)} CPU results for cell {units[0].cell_id if units else '?'}, got {len(results)}")
    items: list[Corrupted] = []
    failures: list[Failure] = []
    for unit, result in zip(units, results):
        expected = (unit.clip_id, unit.cell_id)
        if result.key is not None and result.key != expected:
            raise RuntimeError(
                f"CPU result out of order: expected {expected[0]} / {expected[1]}, got {result.key[0]} / {result.key[1]}"
            )
        if result.error is not None or result.audio is None:
            _fail(plan, failures, unit, result.error or "corruption returned no audio", result.elapsed_ms)
            continue
        sr = loaded.audio[unit.clip_index][1]
        items.append(Corrupted(unit, torch.from_numpy(result.audio), sr, result.snr_db, result.elapsed_ms))
    return items, failures


# -- score ------------------------------------------------------------------------------------------
def score_cell(
    plan: Plan, detector: Any, items: Sequence[Corrupted], max_batch_samples: int = MAX_BATCH_SAMPLES
) -> tuple[list[Scored], list[Failure]]:
    """Score one (group, cell): one detector call per sample rate and ``pack`` batch, in item order.

    A call that breaks the detector's output contract (``DetectorContractError``)
    fails every pair of it: the model is wrong, not the clips, and a clip that
    passes alone would pass by chance. Any other exception is retried item by
    item to isolate the culprit; each retried pair counts ``retries=1`` and a
    ``note`` naming the batch's error. Only the pending pairs' scores and
    failures come back.
    """
    by_rate: dict[int, list[Corrupted]] = {}
    for it in items:
        by_rate.setdefault(it.sample_rate, []).append(it)
    scored: list[Scored] = []
    failures: list[Failure] = []
    for same in by_rate.values():
        sizes = [(int(it.audio.shape[-1]), int(it.audio.shape[0]) if it.audio.dim() > 1 else 1) for it in same]
        for batch in pack(sizes, max_batch_samples):
            scored += _score_batch(plan, detector, [same[k] for k in batch], failures)
    return scored, failures


def _score_batch(
    plan: Plan, detector: Any, items: list[Corrupted], failures: list[Failure], retries: int = 0, note: str | None = None
) -> list[Scored]:
    start = time.perf_counter()
    try:
        raw, p = detect(detector, items)
    except Exception as exc:
        if len(items) == 1 or isinstance(exc, _ContractError):
            for it in items:
                _fail(plan, failures, it.unit, f"detector failed: {one_line(exc)}", it.corrupt_ms, retries, note)
            return []
        why = f"scored alone after the batch failed: {one_line(exc)}"
        scored: list[Scored] = []
        for item in items:  # retry one by one to isolate the culprit
            scored += _score_batch(plan, detector, [item], failures, retries + 1, why)
        return scored
    detect_ms = (time.perf_counter() - start) * 1e3 / len(items)
    return [
        Scored(it.unit, float(r), float(q), it.snr_db, it.corrupt_ms + detect_ms, retries, note, detect_ms,
               it.audio.shape[-1] / it.sample_rate)
        for it, r, q in zip(items, raw, p)
        if plan.is_pending(it.unit.clip_index, it.unit.cell_id)  # the others only keep the call's composition
    ]


def detect(detector: Any, items: Sequence[Corrupted]) -> tuple[list[float], list[float]]:
    """One ``detector.score`` call over items of one sample rate; raises on a wrong count or a non-finite score."""
    sr = items[0].sample_rate
    scores = detector.score(
        [it.audio for it in items], sr, clip_ids=[it.unit.clip_id for it in items],
        generators=[make_generator(it.unit.seed) for it in items],
    )  # fmt: skip
    raw = scores.raw_score.detach().to("cpu", torch.float64).reshape(-1).tolist()
    p = scores.p_fake.detach().to("cpu", torch.float64).reshape(-1).tolist()
    if len(raw) != len(items) or len(p) != len(items):
        raise RuntimeError(f"expected {len(items)} scores, got {len(raw)} raw and {len(p)} p_fake")
    bad = [it.unit.clip_id for it, r, q in zip(items, raw, p) if not (math.isfinite(r) and math.isfinite(q))]
    if bad:
        raise RuntimeError(f"non-finite score for {', '.join(bad)}")
    return raw, p


# -- rows -------------------------------------------------------------------------------------------
def to_rows(plan: Plan, cells: Mapping[str, Cell], scored: Sequence[Scored], failures: Sequence[Failure]) -> list[ScoreRow]:
    """Score rows of scored pairs, then error rows of failed ones."""
    rows = [
        _row(plan, cells, s.unit, s.raw_score, s.p_fake, s.snr_db, None, s.elapsed_ms, s.retries, s.note,
             detect_ms=s.detect_ms, audio_s=s.audio_s)
        for s in scored
    ]
    rows += [_row(plan, cells, f.unit, None, None, None, f.message, f.elapsed_ms, f.retries, f.note) for f in failures]
    return rows


def _row(
    plan: Plan, cells: Mapping[str, Cell], unit: Unit, raw: float | None, p: float | None, snr: float | None,
    error: str | None, ms: float, retries: int, note: str | None, *, detect_ms: float | None = None,
    audio_s: float | None = None,
) -> ScoreRow:  # fmt: skip
    clip = plan.clips[unit.clip_index]
    cell = cells[unit.cell_id]
    return ScoreRow(
        clip_id=clip.clip_id, label=clip.label, attack=clip.attack, cell_id=cell.cell_id, corruption=cell.corruption,
        severity=cell.severity, raw_score=raw, p_fake=p, measured_snr_db=snr, error=error, elapsed_ms=ms, note=note,
        retries=retries, detect_ms=detect_ms, audio_s=audio_s,
    )  # fmt: skip
