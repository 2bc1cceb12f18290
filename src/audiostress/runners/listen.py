"""The listening exporter: short compressed excerpts of the clips that flipped most, for the report's players.

Per corrupted cell it picks up to ``k`` clips (default :data:`K_PER_CELL`) whose
decision at the clean operating threshold flipped, then those with the largest
``|p_fake(cell) - p_fake(clean)|``; and the :data:`K_FRAGILE` most fragile clips
of metrics.json's ``fragility`` block (skipped when the block is absent), each at
the cell of its mildest flipping severity. For every chosen pair the audio comes
from :func:`audiostress.replay.replay_pair`, so it is exactly what the detector
scored; the clean clip is replayed the same way (cell ``clean``).

**Excerpts.** At most :data:`EXCERPT_MAX_S` seconds, mixed to mono (mean over
channels). A clip no longer than that is taken whole; a longer one is cut to the
window of that length with the most energy in its *clean* audio (searched in
10 ms steps, the first such window on ties). The clean and the corrupted excerpt
of a clip share those offsets (clamped to the corrupted audio's length when a
corruption changed it), so they line up when compared by ear.

**Encoding.** Ogg Opus (``audio/ogg; codecs=opus``), mono, :data:`BITRATE_KBPS`
kbps, through PyAV; MP3 (``audio/mpeg``, libmp3lame) when PyAV's FFmpeg has no
libopus. A rate Opus does not take (it codes 8, 12, 16, 24 or 48 kHz) is
resampled to 48 kHz by FFmpeg's resampler first. A perceptual codec does not
keep the waveform (Opus at 32 kbps: about 7 dB SNR on speech), so each excerpt
also records ``pcm_sha256``, the sha256 of the float32 little-endian mono PCM it
was encoded from: replaying the pair and hashing the same samples checks the
excerpt bit for bit.

**Files.** ``SWEEP_DIR/listen/<16 hex>.opus`` (sha1 of clip id and cell id, so
hostile ids never reach a file name) and ``listen/index.json``::

    {"schema": 1, "codec": "opus", "mime": "audio/ogg; codecs=opus", "bitrate_kbps": 32,
     "excerpt_max_s": 5.0, "k": 5, "threshold": float, "threshold_score": "raw_score",
     "excerpts": {key: {"file", "clip_id", "cell_id", "sample_rate", "start_s", "end_s",
                        "start_sample", "n_samples", "duration_s", "bytes", "pcm_sha256"}},
     "cells": {cell_id: [entry, ...]},   # flipped first, then largest |delta p_fake|
     "fragile": [entry, ...],            # most fragile first (+ "series", "severity")
     "skipped": [{"clip_id", "cell_id", "error"}]}

    entry = {"clip_id", "label", "cell_id", "p_fake_clean", "p_fake", "delta_p_fake",
             "flipped", "clean": key, "corrupted": key, "replay": "audiostress replay ..."}

Every file is written atomically; files a previous index listed that this run
no longer writes are removed (nothing else in ``listen/`` is touched).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics._atomic import write_atomic

logger = logging.getLogger("audiostress.listen")

#: Clips listened to per corrupted cell.
K_PER_CELL = 5
#: Most fragile clips listened to (from metrics.json's ``fragility.most_fragile``).
K_FRAGILE = 5
#: Longest excerpt, in seconds.
EXCERPT_MAX_S = 5.0
#: Bit rate of the mono excerpts.
BITRATE_KBPS = 32
#: The folder (inside the sweep directory) and its index.
LISTEN_DIR = "listen"
INDEX_NAME = "index.json"
#: Rates libopus codes directly.
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
#: (codec name, PyAV encoder, container, file suffix, MIME type), in order of preference.
FORMATS = (("opus", "libopus", "ogg", ".opus", "audio/ogg; codecs=opus"),
           ("mp3", "libmp3lame", "mp3", ".mp3", "audio/mpeg"))

#: ``replay(sweep_dir, clip_id, cell_id) -> ([C, T] float32, sample_rate)``.
ReplayFn = Callable[[Path, str, str], tuple[np.ndarray, int]]


def _default_replay(sweep_dir: Path, clip_id: str, cell_id: str) -> tuple[np.ndarray, int]:
    from ..replay import replay_pair

    return replay_pair(sweep_dir, clip_id, cell_id)


def excerpt_bounds(clean: np.ndarray, sample_rate: int, max_s: float = EXCERPT_MAX_S) -> tuple[int, int]:
    """``(start, end)`` samples of the excerpt of a mono clip: whole when short, else its loudest ``max_s`` window.

    >>> excerpt_bounds(np.zeros(800), 100, 5.0)
    (0, 500)
    >>> x = np.zeros(1000); x[700:760] = 1.0
    >>> excerpt_bounds(x, 100, 2.0)
    (560, 760)
    """
    n, width = int(clean.shape[-1]), int(round(max_s * sample_rate))
    if width <= 0:
        raise ValueError(f"Expected `max_s` > 0 seconds, got {max_s!r}")
    if n <= width:
        return 0, n
    hop = max(1, sample_rate // 100)
    energy = np.concatenate([[0.0], np.cumsum(np.asarray(clean, dtype=np.float64) ** 2)])
    starts = np.arange(0, n - width + 1, hop)
    sums = energy[starts + width] - energy[starts]
    start = int(starts[int(np.argmax(sums))]) if sums.max() > 0 else 0
    return start, start + width


def mono(audio: np.ndarray) -> np.ndarray:
    """``[C, T]`` (or ``[T]``) as float32 mono ``[T]``: the mean over channels."""
    x = np.asarray(audio, dtype=np.float32)
    return x if x.ndim == 1 else np.ascontiguousarray(x.reshape(-1, x.shape[-1]).mean(axis=0), dtype=np.float32)


def pcm_sha256(pcm: np.ndarray) -> str:
    """sha256 of ``pcm`` as float32 little-endian bytes (what ``index.json`` records per excerpt)."""
    return hashlib.sha256(np.ascontiguousarray(pcm, dtype="<f4").tobytes()).hexdigest()


def pick_format() -> tuple[str, str, str, str, str] | None:
    """The first of :data:`FORMATS` whose encoder PyAV has, or ``None``."""
    try:
        import av
    except ImportError:
        return None
    for fmt in FORMATS:
        try:
            av.Codec(fmt[1], "w")
        except Exception:  # av raises UnknownCodecError or ValueError depending on version
            continue
        return fmt
    return None


def encode_excerpt(pcm: np.ndarray, sample_rate: int, fmt: Sequence[str] = FORMATS[0],
                   bitrate_kbps: int = BITRATE_KBPS) -> bytes:
    """Mono float32 ``pcm`` as container bytes of ``fmt`` (an entry of :data:`FORMATS`)."""
    import av

    _, encoder, container, _, _ = fmt
    rate = sample_rate if encoder != "libopus" or sample_rate in OPUS_RATES else 48000
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm, dtype=np.float32).reshape(1, -1), format="flt",
                                       layout="mono")
    frame.sample_rate, frame.pts = sample_rate, 0
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(encoder, rate=rate, layout="mono")
        stream.bit_rate = int(bitrate_kbps) * 1000
        frames = [frame]
        if rate != sample_rate:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            frames = [*resampler.resample(frame), *resampler.resample(None)]
        for f in [*frames, None]:
            for packet in stream.encode(f):
                out.mux(packet)
    return buf.getvalue()


def replay_command(sweep_dir: Path, clip_id: str, cell_id: str) -> str:
    """The shell command that writes the pair's scored audio as a WAV."""
    name = "".join(ch if ch.isalnum() else "_" for ch in f"{clip_id}_{cell_id}")[:80]
    return (f"audiostress replay {shlex.quote(str(sweep_dir))} --clip-id {shlex.quote(clip_id)} "
            f"--cell-id {shlex.quote(cell_id)} -o {shlex.quote(name + '.wav')}")


def _row_dict(row: Any) -> Mapping[str, Any]:
    return row.as_dict() if hasattr(row, "as_dict") else row


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _scores(rows: Sequence[Any], column: str) -> dict[tuple[str, str], dict[str, Any]]:
    """``(clip, cell) -> {label, score, p_fake}`` for the rows scored without error."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in rows:
        r = _row_dict(raw)
        score, p = _number(r.get(column)), _number(r.get("p_fake"))
        if r.get("error") or score is None or p is None:
            continue
        out[(str(r.get("clip_id")), str(r.get("cell_id")))] = {"label": r.get("label"), "score": score, "p_fake": p}
    return out


def _entry(scores: Mapping[tuple[str, str], dict[str, Any]], clip: str, cell: str, threshold: float | None) -> dict[str, Any]:
    clean, cur = scores[(clip, "clean")], scores[(clip, cell)]
    flipped = None if threshold is None else (clean["score"] >= threshold) != (cur["score"] >= threshold)
    return {"clip_id": clip, "label": cur["label"], "cell_id": cell, "p_fake_clean": clean["p_fake"],
            "p_fake": cur["p_fake"], "delta_p_fake": cur["p_fake"] - clean["p_fake"], "flipped": flipped}


def threshold_score(metrics: Mapping[str, Any]) -> str:
    """The score column the clean threshold is on: ``settings.threshold_score`` (``raw_score`` when absent)."""
    settings = metrics.get("settings")
    name = settings.get("threshold_score") if isinstance(settings, Mapping) else None
    return str(name) if name in ("raw_score", "p_fake") else "raw_score"


def select_pairs(rows: Sequence[Any], metrics: Mapping[str, Any], k: int = K_PER_CELL,
                 n_fragile: int = K_FRAGILE) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """``(per cell: up to k entries, flipped first then largest |Δp_fake|; the fragile entries)``."""
    column = threshold_score(metrics)
    threshold = _number((metrics.get("clean") or {}).get("threshold"))
    scores = _scores(rows, column)
    clips = sorted({clip for clip, cell in scores if cell == "clean"})
    cells = [c for c in metrics.get("cells") or [] if isinstance(c, Mapping) and c.get("cell_id") != "clean"]
    per_cell: dict[str, list[dict[str, Any]]] = {}
    for cell in cells:
        cid = str(cell.get("cell_id"))
        entries = [_entry(scores, clip, cid, threshold) for clip in clips if (clip, cid) in scores]
        entries.sort(key=lambda e: (not e["flipped"], -abs(e["delta_p_fake"]), e["clip_id"]))
        per_cell[cid] = entries[:k]
    fragile: list[dict[str, Any]] = []
    block = metrics.get("fragility")
    if isinstance(block, Mapping) and n_fragile > 0:
        by_series = {(c.get("series"), c.get("severity")): str(c.get("cell_id")) for c in cells}
        for clip in list(block.get("most_fragile") or [])[:n_fragile]:
            per = (block.get("clips") or {}).get(clip) or {}
            found = sorted((sev, series) for series, sev in per.items() if isinstance(sev, int))
            for sev, series in found:
                hit = by_series.get((series, sev))
                if hit is not None and (clip, hit) in scores and (clip, "clean") in scores:
                    fragile.append(_entry(scores, clip, hit, threshold) | {"series": series, "severity": sev})
                    break
    return per_cell, fragile


class _Writer:
    """Replays, cuts, encodes and writes excerpts, each (clip, cell) once."""

    def __init__(self, sweep_dir: Path, replay: ReplayFn, fmt: Sequence[str], bitrate_kbps: int, max_s: float) -> None:
        self.sweep_dir, self.replay, self.fmt, self.bitrate, self.max_s = sweep_dir, replay, fmt, bitrate_kbps, max_s
        self.folder = sweep_dir / LISTEN_DIR
        self.excerpts: dict[str, dict[str, Any]] = {}
        self.bounds: dict[str, tuple[int, int, int]] = {}  # clip -> (start, end, sample rate) from its clean audio
        self.skipped: list[dict[str, Any]] = []

    def key(self, clip: str, cell: str) -> str:
        return hashlib.sha1(f"{clip}\0{cell}".encode()).hexdigest()[:16]

    def excerpt(self, clip: str, cell: str) -> str | None:
        key = self.key(clip, cell)
        if key in self.excerpts:
            return key
        try:
            clean: np.ndarray | None = None
            if clip not in self.bounds:
                clean_audio, rate = self.replay(self.sweep_dir, clip, "clean")
                clean = mono(clean_audio)
                self.bounds[clip] = (*excerpt_bounds(clean, rate, self.max_s), rate)
            if cell == "clean" and clean is not None:  # the clean excerpt: the audio the bounds came from
                x = clean
            else:
                audio, rate = self.replay(self.sweep_dir, clip, cell)
                x = mono(audio)
            start, end, clean_rate = self.bounds[clip]
            if rate != clean_rate:  # the clean replay and this one ran at different rates: scale the offsets
                start, end = round(start * rate / clean_rate), round(end * rate / clean_rate)
            if start >= x.size:
                start = 0
            pcm = x[start:min(end, x.size)]
            data = encode_excerpt(pcm, rate, self.fmt, self.bitrate)
        except Exception as exc:  # a pair that cannot be replayed or encoded is skipped, never the sweep
            self.skipped.append({"clip_id": clip, "cell_id": cell, "error": f"{type(exc).__name__}: {exc}"})
            return None
        name = key + self.fmt[3]
        write_atomic(self.folder / name, data)
        self.excerpts[key] = {"file": name, "clip_id": clip, "cell_id": cell, "sample_rate": int(rate),
                              "start_s": start / rate, "end_s": (start + pcm.size) / rate, "start_sample": int(start),
                              "n_samples": int(pcm.size), "duration_s": pcm.size / rate, "bytes": len(data),
                              "pcm_sha256": pcm_sha256(pcm)}
        return key

    def pair(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        clean = self.excerpt(entry["clip_id"], "clean")
        corrupted = self.excerpt(entry["clip_id"], entry["cell_id"]) if clean is not None else None
        if corrupted is None:
            return None
        return entry | {"clean": clean, "corrupted": corrupted,
                        "replay": replay_command(self.sweep_dir, entry["clip_id"], entry["cell_id"])}


def _previous_files(folder: Path) -> set[str]:
    try:
        index = json.loads((folder / INDEX_NAME).read_text(encoding="utf-8"))
        return {str(e["file"]) for e in index.get("excerpts", {}).values()
                if isinstance(e, dict) and "/" not in str(e.get("file", "/")) and str(e["file"]) not in ("", ".", "..")}
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return set()


def write_listening(sweep_dir: str | os.PathLike[str], rows: Sequence[Any], metrics: Mapping[str, Any], *,
                    k: int = K_PER_CELL, n_fragile: int = K_FRAGILE, max_s: float = EXCERPT_MAX_S,
                    bitrate_kbps: int = BITRATE_KBPS, replay: ReplayFn | None = None) -> Path | None:
    """Write ``listen/`` (excerpts + ``index.json``) for the sweep at ``sweep_dir``; returns the index path.

    ``rows`` are the sweep's score rows (``ScoreRow`` or mappings), ``metrics`` its
    metrics.json content. ``replay`` defaults to :func:`audiostress.replay.replay_pair`.
    Returns ``None`` (logged) when PyAV has neither libopus nor libmp3lame, or when
    ``replay`` is the default and the directory holds no results store.
    """
    root = Path(sweep_dir)
    if k < 0 or n_fragile < 0:
        raise ValueError(f"Expected `k` and `n_fragile` >= 0, got k={k!r}, n_fragile={n_fragile!r}")
    fmt = pick_format()
    if fmt is None:
        logger.warning("listening excerpts skipped: PyAV has neither libopus nor libmp3lame (pip install av)")
        return None
    if replay is None:
        if not (root / "results.sqlite").is_file():
            logger.info("listening excerpts skipped: %s holds no results.sqlite to replay from", root)
            return None
        replay = _default_replay
    per_cell, fragile = select_pairs(rows, metrics, k, n_fragile)
    folder = root / LISTEN_DIR
    folder.mkdir(parents=True, exist_ok=True)
    previous = _previous_files(folder)
    writer = _Writer(root, replay, fmt, bitrate_kbps, max_s)
    cells = {cid: [p for e in entries if (p := writer.pair(e)) is not None] for cid, entries in per_cell.items()}
    fragile_out = [p for e in fragile if (p := writer.pair(e)) is not None]
    if writer.skipped:
        logger.warning("listening: %d excerpt(s) skipped (first: %s / %s: %s)", len(writer.skipped),
                       writer.skipped[0]["clip_id"], writer.skipped[0]["cell_id"], writer.skipped[0]["error"])
    index = {"schema": 1, "codec": fmt[0], "mime": fmt[4], "bitrate_kbps": bitrate_kbps, "excerpt_max_s": max_s,
             "k": k, "threshold": _number((metrics.get("clean") or {}).get("threshold")),
             "threshold_score": threshold_score(metrics), "excerpts": writer.excerpts,
             "cells": cells, "fragile": fragile_out, "skipped": writer.skipped}
    path = write_atomic(folder / INDEX_NAME, json.dumps(index, indent=1, sort_keys=True) + "\n")
    written = {e["file"] for e in writer.excerpts.values()}
    for name in previous - written:
        try:
            (folder / name).unlink()
        except OSError:
            pass
    return path
