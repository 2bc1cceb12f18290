"""The per-item work function the sweep hands to the CPU worker pool.

``corrupt_item`` is a module-level function (picklable for process workers):
a ``CpuTask`` (the (clip, cell) key, node dict, clean audio [C, T] numpy,
sample_rate, seed), or the bare tuple ``(node dict, audio, sample_rate, seed)``,
-> ``CorruptResult`` with the corrupted audio, its measured SNR against the clean
clip and the time taken, or the error text, plus the task's key so the engine
can check that a result belongs to the pair it expects. Failures are caught here and
returned as data, so one bad item never stops the pool's stream; an item whose
worker process dies becomes ``crashed_item``'s error result (the pool's ``on_crash``).

Long clips (more samples than a padded device batch may hold, see
``work.MAX_BATCH_SAMPLES``) are corrupted alone. A corruption listed in
``CHUNKABLE`` then runs over overlapping chunks joined by linear crossfades
(``corrupt_chunked``), so its working memory is bounded by the chunk, not the
clip; the SNR of a long clip is summed chunk by chunk (``clip_snr_db``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..codecs._neural import code_chunked
from ..corruptions import from_dict
from ..corruptions.base import Corruption, Node
from ..corruptions.graph import Chain
from ..measure import IDENTICAL_SNR_DB, snr_db
from ..seeding import make_generator

Payload = tuple[dict[str, Any], np.ndarray, int, int]


@dataclass(frozen=True)
class CpuTask:
    """One clip to corrupt on CPU under one cell: what a worker process needs, and the pair's key."""

    clip_id: str
    cell_id: str
    node: dict[str, Any]
    audio: np.ndarray
    sample_rate: int
    seed: int
    #: Corrupt in chunks of this many samples (a clip above the batch cap, ``can_chunk`` nodes); None: whole.
    chunk: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.clip_id, self.cell_id)

    def payload(self) -> Payload:
        return (self.node, self.audio, self.sample_rate, self.seed)

_NODES: dict[str, Node] = {}
_MAX_CACHED_NODES = 64


@dataclass(frozen=True)
class CorruptResult:
    """What one corrupted item brings back from a worker."""

    audio: np.ndarray | None
    snr_db: float | None
    elapsed_ms: float
    error: str | None = None
    #: The (clip_id, cell_id) of the task (``None`` for a bare tuple payload).
    key: tuple[str, str] | None = None


def node_from_dict(data: dict[str, Any]) -> Node:
    """Rebuild a node once per process (nodes are pure, so sharing them is safe)."""
    key = repr(data)
    node = _NODES.get(key)
    if node is None:
        if len(_NODES) >= _MAX_CACHED_NODES:
            _NODES.clear()
        node = _NODES[key] = from_dict(data)
    return node


def corrupt_tensor(node: Node, audio: torch.Tensor, sample_rate: int, seed: int, chunk: int | None = None) -> torch.Tensor:
    """Corrupt one ``[C, T]`` clip with the generator of its (clip, cell) seed (in chunks: see ``CpuTask.chunk``)."""
    if chunk is not None and audio.shape[-1] > chunk and can_chunk(node):
        out = corrupt_chunked(node, audio, sample_rate, make_generator(seed), chunk)
    else:
        batch = audio.unsqueeze(0)
        lengths = torch.tensor([audio.shape[-1]], dtype=torch.long)
        out = node.apply_items(batch, sample_rate, [make_generator(seed)], lengths)[0]
    if not bool(torch.isfinite(out).all()):
        raise RuntimeError(f"{node.label()} produced NaN or Inf samples")
    return out


#: Corruptions whose output at a sample depends only on input near it (and on the item's
#: generator, drawn in order), so a long clip may be corrupted in overlapping chunks:
#: - up to float rounding: the linear filters (their impulse-response tails are far
#:   shorter than the 1 % overlap of a chunk) and the pointwise level changes;
#: - approximately: the noises (their SNR holds per chunk rather than over the whole
#:   clip), packet loss (a packet may straddle a chunk edge), pitch shift (the phase
#:   vocoder restarts its phase in each chunk; the crossfade hides the seam) and the
#:   frame-based lossy codecs (each chunk is coded on its own, output aligned to the
#:   input; the encoder's start-up lies inside the crossfade);
#: - a chain whose every stage is chunkable (``mp3_then_aac``).
#: Left out, so run whole: background_noise (one noise excerpt and one level per clip),
#: time_stretch (its content moves across chunk edges), reverb and echo (long tails),
#: smooth and resample_band_limit (not audited), the neural codecs (they chunk
#: themselves) and the other graph nodes (maybe, one-of).
CHUNKABLE = frozenset({
    "aac", "alaw", "amr_nb", "band_pass", "bit_depth", "clipping", "colored_noise", "g722", "gain", "gaussian_noise",
    "gsm", "high_pass", "low_pass", "mp3", "mulaw", "opus", "packet_loss", "pitch_shift", "quantization", "vorbis",
})  # fmt: skip
#: Samples summed at once when the SNR of a long clip is measured (float64 temporaries stay small).
SNR_CHUNK_SAMPLES = 1 << 22


def can_chunk(node: Node) -> bool:
    """Whether ``node`` may corrupt a long clip in chunks: a ``CHUNKABLE`` corruption with no sampled parameter,
    or a chain of such."""
    if isinstance(node, Chain):
        return all(can_chunk(n) for n in node.children())
    if not isinstance(node, Corruption) or node.name not in CHUNKABLE:
        return False
    return not any(hasattr(v, "draw") for v in node.values.values())


def corrupt_chunked(node: Node, audio: torch.Tensor, sample_rate: int, generator: torch.Generator, chunk: int) -> torch.Tensor:
    """Corrupt one ``[C, T]`` clip in chunks of ``chunk`` samples overlapping by 1 %, joined by crossfades.

    The chunks are corrupted in order with the one generator of the pair, so the
    result is fixed for a given ``chunk``; a clip of at most ``chunk`` samples is
    corrupted whole.
    """

    def run(piece: torch.Tensor) -> torch.Tensor:
        lengths = torch.tensor([piece.shape[-1]], dtype=torch.long)
        return node.apply_items(piece.contiguous(), sample_rate, [generator], lengths)

    return code_chunked(run, audio.unsqueeze(0), max(2, int(chunk)))[0]


def clip_snr_db(clean: torch.Tensor, corrupted: torch.Tensor) -> float:
    """``measure.snr_db`` of one ``[C, T]`` clip; a long clip is summed in chunks so memory stays bounded."""
    if clean.numel() <= SNR_CHUNK_SAMPLES:
        return float(snr_db(clean, corrupted)[0])
    step = max(1, SNR_CHUNK_SAMPLES // max(1, clean.shape[0]))
    p_sig = p_err = 0.0
    for start in range(0, clean.shape[-1], step):
        x = clean[..., start : start + step].to(torch.float64)
        e = corrupted[..., start : start + step].to(torch.float64) - x
        p_sig += float(x.pow(2).sum())
        p_err += float(e.pow(2).sum())
    if p_err == 0:
        return IDENTICAL_SNR_DB
    return -math.inf if p_sig <= 0 else 10.0 * math.log10(p_sig / p_err)


def _unpack(task: CpuTask | Payload) -> tuple[Payload, tuple[str, str] | None]:
    if isinstance(task, CpuTask):
        return task.payload(), task.key
    return task, None


def _label(node_dict: dict[str, Any]) -> str:
    return str(node_dict.get("name") or node_dict.get("type", "corruption"))


def corrupt_item(task: CpuTask | Payload) -> CorruptResult:
    """Corrupt one clip on CPU; exceptions come back as ``CorruptResult.error``."""
    (node_dict, audio_np, sample_rate, seed), key = _unpack(task)
    chunk = task.chunk if isinstance(task, CpuTask) else None
    start = time.perf_counter()
    try:
        node = node_from_dict(node_dict)
        clean = torch.from_numpy(np.ascontiguousarray(audio_np))
        out = corrupt_tensor(node, clean, int(sample_rate), int(seed), chunk)
        snr = clip_snr_db(clean, out)
        return CorruptResult(out.numpy(), snr, (time.perf_counter() - start) * 1e3, key=key)
    except Exception as exc:  # reported as an error row for this (clip, cell)
        message = f"corruption {_label(node_dict)} failed: {one_line(exc)}"
        return CorruptResult(None, None, (time.perf_counter() - start) * 1e3, message, key=key)


def crashed_item(task: CpuTask | Payload, error: BaseException) -> CorruptResult:
    """The result of an item whose worker process died (``WorkerPool`` ``on_crash``): an error row."""
    (node_dict, *_), key = _unpack(task)
    message = f"worker process died while corrupting with {_label(node_dict)}: {one_line(error)}"
    return CorruptResult(None, None, 0.0, message, key=key)


def one_line(exc: BaseException) -> str:
    """``"TypeName: first line of the message"``, for error rows."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
