"""Preflight: check, before any pair is scored, what would otherwise fail every pair.

A sweep that cannot work should stop in seconds with one line naming the
setting and the fix, not record thousands of identical error rows. ``preflight``
runs two checks:

1. **The detector's contract.** Two clips of the dataset (shortened to what the
   InputSpec needs: two windows, or ``PROBE_SECONDS`` of a whole clip) are
   loaded, brought to the corrupt rate, and scored through the detector's full
   input and output spec. A ``DetectorContractError`` (shape, class count,
   ``fake_index``/``select`` range, ``kind: probs`` outside [0, 1]) fails the
   preflight at once; any other detector error fails it only when it hits both
   clips alone (a model that trips on one clip is that clip's problem, recorded
   as its rows).
2. **Every grid cell.** Each cell runs once on a short synthetic probe
   (``PROBE_SECONDS`` of speech-like audio) for every (channel count, rate)
   present in the dataset, read from the file headers only (or at the corrupt
   rate, when one is set). Missing EnCodec weights, a missing encoder, an empty
   noise folder or a codec that rejects a layout fail here, naming the cell.

A failure raises ``PreflightError``; the CLI exits 2 with its message. The
header scan also yields the effective detector input for the provenance
(``detector_input``: rate, length, pad, crop, hop, windows per clip).
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

logger = logging.getLogger("audiostress.sweep")

#: Seconds of probe audio per grid cell, and of a whole clip scored by the detector check.
PROBE_SECONDS = 0.5
#: Clips the detector check scores.
PROBE_CLIPS = 2
#: Clips tried (in dataset order) to find ``PROBE_CLIPS`` that load.
PROBE_CANDIDATES = 8


class PreflightError(RuntimeError):
    """The sweep cannot work as configured; the message names the setting and the fix."""


@dataclass(frozen=True)
class ClipHeader:
    """What a file's header says: channels, sample rate, frames (``None`` when unknown)."""

    channels: int
    sample_rate: int
    frames: int | None


def read_header(path: str | Path) -> ClipHeader | None:
    """The header of an audio file (soundfile, else PyAV), or ``None`` when it cannot be read.

    Reads no samples; a file whose header is unreadable fails later, as its own rows.
    """
    try:
        import soundfile as sf

        info = sf.info(str(path))
        return ClipHeader(int(info.channels), int(info.samplerate), int(info.frames))
    except Exception:  # not a libsndfile format: try PyAV
        pass
    try:
        import av

        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            rate = int(stream.rate or stream.codec_context.sample_rate)
            channels = int(stream.codec_context.channels or stream.layout.nb_channels)
            frames = None
            if stream.duration is not None and stream.time_base is not None:
                frames = int(round(float(stream.duration * stream.time_base) * rate))
            return ClipHeader(channels, rate, frames)
    except Exception:
        return None


def read_headers(clips: Sequence[Any]) -> list[ClipHeader | None]:
    """``read_header`` of every clip's ``path``, in order."""
    return [read_header(c.path) for c in clips]


def layouts(headers: Sequence[ClipHeader | None], corrupt_rate: int | None) -> list[tuple[int, int]]:
    """The sorted (channels, rate) pairs the corruptions will see (rate = ``corrupt_rate`` when set)."""
    seen = {(h.channels, int(corrupt_rate) if corrupt_rate else h.sample_rate) for h in headers if h is not None}
    return sorted(seen)


def detector_input(detector: Any, headers: Sequence[ClipHeader | None]) -> dict[str, Any]:
    """Provenance ``detector_input``: the effective InputSpec and the windows each clip becomes.

    Windows are counted from the header frame counts brought to the detector's
    rate; ``windows_per_clip`` is ``None`` when no header gave a length.
    """
    spec = getattr(detector, "input", None)
    if spec is None:
        return {}
    counts = [
        spec.windows(math.ceil(h.frames * spec.sample_rate / h.sample_rate))
        for h in headers
        if h is not None and h.frames is not None and h.sample_rate > 0
    ]
    windows = (
        {"min": min(counts), "median": float(statistics.median(counts)), "max": max(counts)} if counts else None
    )
    return {
        "sample_rate": spec.sample_rate, "length": spec.length, "pad": spec.pad, "crop": spec.crop,
        "hop": spec.window_hop if spec.crop == "windows" else spec.hop, "windows_per_clip": windows,
    }  # fmt: skip


def describe_input(info: dict[str, Any], corrupt_rate: int | None) -> str:
    """The effective input for the summary line, e.g. ``input 16000 Hz, whole clip, 1 window/clip; corrupt at 16000 Hz``."""
    if not info:
        return f"corrupt at {corrupt_rate or 'native'} Hz" if corrupt_rate else "corrupt at native rates"
    if info["length"] is None:
        shape = "whole clip"
    elif info["crop"] == "windows":
        shape = f"{info['length']} samples, windows every {info['hop']}"
    else:
        shape = f"{info['length']} samples, crop {info['crop']}, pad {info['pad']}"
    w = info.get("windows_per_clip")
    windows = ""
    if w:
        windows = f", {w['min']} window/clip" if w["min"] == w["max"] else f", {w['min']}-{w['max']} windows/clip"
    rate = f"corrupt at {corrupt_rate} Hz" if corrupt_rate else "corrupt at native rates"
    return f"input {info['sample_rate']} Hz, {shape}{windows}; {rate}"


# -- the checks ----------------------------------------------------------------------------------
def preflight(
    detector: Any,
    clips: Sequence[Any],
    cells: Sequence[Any],
    headers: Sequence[ClipHeader | None],
    *,
    corrupt_rate: int | None,
    device: torch.device,
) -> None:
    """Run both checks (module docstring); raises ``PreflightError`` on the first failure."""
    check_detector(detector, clips, corrupt_rate=corrupt_rate)
    check_cells(cells, layouts(headers, corrupt_rate), device=device)


def check_detector(detector: Any, clips: Sequence[Any], *, corrupt_rate: int | None) -> None:
    """Score ``PROBE_CLIPS`` shortened clips through the detector's input and output spec."""
    from ..audio import AudioError, load, resample
    from ..detectors import DetectorContractError

    probes: list[tuple[str, torch.Tensor, int]] = []
    for clip in clips[:PROBE_CANDIDATES]:
        try:
            audio, sr = load(clip.path)
        except (AudioError, OSError, ValueError):
            continue  # a broken clip is its own rows' problem
        if corrupt_rate is not None and sr != corrupt_rate:
            audio, sr = resample(audio, sr, int(corrupt_rate)).contiguous(), int(corrupt_rate)
        probes.append((str(clip.clip_id), audio[:, : _probe_samples(detector, sr)], sr))
        if len(probes) == PROBE_CLIPS:
            break
    if not probes:
        return  # no clip loads: every pair records why, and the summary says so
    by_rate: dict[int, list[tuple[str, torch.Tensor, int]]] = {}
    for probe in probes:
        by_rate.setdefault(probe[2], []).append(probe)
    name = getattr(detector, "name", "detector")
    for rate, group in by_rate.items():
        try:
            detector.score([a for _, a, _ in group], rate, clip_ids=[i for i, _, _ in group])
            continue
        except DetectorContractError as exc:
            raise PreflightError(f"preflight: {_first_line(exc)}; fix the card's `output:` settings") from exc
        except Exception as exc:  # the engine records any detector exception as the pairs' error
            first = exc
        alone_ok = False
        for clip_id, audio, _ in group:
            try:
                detector.score([audio], rate, clip_ids=[clip_id])
                alone_ok = True
            except DetectorContractError as exc:
                raise PreflightError(f"preflight: {_first_line(exc)}; fix the card's `output:` settings") from exc
            except Exception:
                pass
        if not alone_ok:
            raise PreflightError(
                f"preflight: detector {name!r} fails on the first clips of the dataset: {_first_line(first)}"
            ) from first


def _probe_samples(detector: Any, rate: int) -> int:
    """Samples at ``rate`` that exercise the InputSpec: two windows, one crop, or PROBE_SECONDS whole."""
    spec = getattr(detector, "input", None)
    length = getattr(spec, "length", None)
    if spec is None or length is None:
        return max(1, int(PROBE_SECONDS * rate))
    need = length + (spec.window_hop if spec.crop == "windows" else 0) + 1
    return math.ceil(need * rate / spec.sample_rate) + 1


def probe_signal(channels: int, rate: int) -> torch.Tensor:
    """``[channels, T]`` float32 speech-like probe, a different take per channel (deterministic)."""
    from ..synth import speech_like

    rows = [speech_like(PROBE_SECONDS, rate, seed=k).reshape(-1) for k in range(channels)]
    return (0.5 * torch.stack(rows)).to(torch.float32)


def check_cells(cells: Sequence[Any], pairs: Sequence[tuple[int, int]], *, device: torch.device) -> None:
    """Run every non-clean cell once per (channels, rate) on the probe; the first failure raises."""
    from ..seeding import make_generator

    for channels, rate in pairs:
        probe = probe_signal(channels, rate).unsqueeze(0)
        lengths = torch.tensor([probe.shape[-1]], dtype=torch.long)
        for cell in cells:
            if cell.corruption == "clean":
                continue
            where = device if cell.node.placement == "device" else torch.device("cpu")
            try:
                with torch.inference_mode():
                    out = cell.node.apply_items(probe.to(where), rate, [make_generator(0)], lengths.to(where))
            except Exception as exc:
                layout = "mono" if channels == 1 else f"{channels}-channel"
                raise PreflightError(
                    f"preflight: cell {cell.cell_id} fails on {layout} audio at {rate} Hz: {_first_line(exc)}"
                ) from exc
            if tuple(out.shape) != tuple(probe.shape) or not bool(torch.isfinite(out).all()):
                raise PreflightError(
                    f"preflight: cell {cell.cell_id} returned shape {list(out.shape)} or non-finite audio "
                    f"for a {list(probe.shape)} probe at {rate} Hz"
                )
            logger.debug("preflight: %s ok on %d ch at %d Hz", cell.cell_id, channels, rate)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
