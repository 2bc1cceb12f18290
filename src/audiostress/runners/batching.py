"""How big a sweep's groups and batches are, from the batch size the user asks for.

A *group* (``plan.py``) is the unit of loading, device batching, detector calls
and sharding: each (group, cell) is corrupted as padded device batches and
scored in detector calls whose composition is fixed by the group, so the scores
are byte-identical whatever the worker count, resume point, shard or engine.
The group size follows the batch size ``B`` (``--batch-size``, the detector's
``batch_size``), so that one detector call holds about ``B`` windows:

- ``group_clips_for``: up to the default batch size (``B <= 16``) a group keeps
  ``plan.GROUP_CLIPS`` (8) clips, the grouping of earlier versions, so a sweep at
  the default batch size (the demo, every existing store) scores byte-for-byte as
  before; above it, ``B // windows_per_clip`` clips (the median over the
  dataset's headers; 1 for a fixed-length or whole-clip input), at least 1, and
  at most as many clips of the median length as fit in one padded batch of
  ``batch_samples_for(B)`` samples, so memory stays bounded for long clips;
- ``batch_samples_for``: the cap of a padded batch and of a detector call,
  ``max(MAX_BATCH_SAMPLES, B * SLOT_SAMPLES)``: each of the ``B`` slots gets
  ``SLOT_SAMPLES`` (8.2 s at 16 kHz), never less than the default cap. At
  ``B = 16`` this is exactly ``MAX_BATCH_SAMPLES``; at ``B = 128`` it is 2**24
  samples (a call of 128 clips of up to 8 s), about 6 GB of working memory at
  the heaviest corruption's 350 bytes per sample: a GPU-sized batch.

Both depend only on ``B``, the detector's input spec and the dataset's headers,
which the sweep identity pins (``B`` is stored in it), so every engine and shard
derives the same groups and batches. Across batch sizes the compositions
differ and scores agree within ``BATCH_SIZE_TOLERANCE``.

>>> group_clips_for(16), group_clips_for(128), group_clips_for(128, windows_per_clip=4)
(8, 128, 32)
>>> group_clips_for(128, clip_samples=1_000_000)  # 62.5 s clips: 16 fill the cap of 2**24 samples
16
>>> batch_samples_for(16) == MAX_BATCH_SAMPLES, batch_samples_for(128)
(True, 16777216)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from .plan import GROUP_CLIPS
from .work import MAX_BATCH_SAMPLES

__all__ = ["BATCH_SIZE_TOLERANCE", "SLOT_SAMPLES", "batch_samples_for", "group_clips_for", "group_clips_of"]

#: Samples each slot of a batch may hold in the cap of a padded batch (8.2 s at 16 kHz).
SLOT_SAMPLES = 1 << 17
#: Across batch sizes, the bound on max |Δ p_fake| between two sweeps of one plan (tested on
#: the analytic detector and the example TinyAasist at batch sizes 8 and 32, 64 clips x 4 cells;
#: measured 0 and 2.3e-8): batched float kernels (convolutions, FFTs) round differently for
#: other compositions, by float32 ulps of the logit. Compare sweeps of one batch size for bytes.
BATCH_SIZE_TOLERANCE = 1e-5
#: The batch size of a detector that does not say (``Detector``'s default).
DEFAULT_BATCH_SIZE = 16


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Expected `{name}` to be a positive integer, got {value!r}")
    return value


def batch_samples_for(batch_size: int) -> int:
    """The cap of a padded batch and a detector call, in samples, for batch size ``batch_size``."""
    return max(MAX_BATCH_SAMPLES, _positive("batch_size", batch_size) * SLOT_SAMPLES)


def group_clips_for(batch_size: int, windows_per_clip: float = 1.0, clip_samples: float | None = None) -> int:
    """Clips per group: ``GROUP_CLIPS`` up to ``DEFAULT_BATCH_SIZE``; above it ``batch_size //
    windows_per_clip``, at least 1, and no more clips of ``clip_samples`` (length x channels)
    than fit in ``batch_samples_for(batch_size)``."""
    if _positive("batch_size", batch_size) <= DEFAULT_BATCH_SIZE:
        return GROUP_CLIPS
    clips = max(1, int(_positive("batch_size", batch_size) // max(1.0, float(windows_per_clip))))
    if clip_samples is not None and clip_samples > 0:
        clips = min(clips, max(1, int(batch_samples_for(batch_size) // clip_samples)))
    return clips


def group_clips_of(detector: Any, headers: Sequence[Any], corrupt_rate: int | None = None) -> int:
    """``group_clips_for`` with the detector's ``batch_size`` and the medians of the dataset's headers.

    ``headers`` are ``preflight.ClipHeader``s (``None`` where unreadable; they are
    skipped): the windows per clip count at the detector's input rate, the clip
    samples (frames x channels) at ``corrupt_rate`` (``None``: each file's rate).
    A detector without an input spec counts one window per clip.
    """
    batch_size = int(getattr(detector, "batch_size", DEFAULT_BATCH_SIZE))
    spec = getattr(detector, "input", None)
    known = [h for h in headers if h is not None and h.frames is not None and h.sample_rate > 0]
    if not known:
        return group_clips_for(batch_size)
    windows = 1.0
    if spec is not None and hasattr(spec, "windows"):
        windows = float(statistics.median(spec.windows(math.ceil(h.frames * spec.sample_rate / h.sample_rate)) for h in known))
    samples = statistics.median(
        math.ceil(h.frames * (corrupt_rate or h.sample_rate) / h.sample_rate) * max(1, int(h.channels)) for h in known
    )
    return group_clips_for(batch_size, windows, float(samples))
