"""Hard clipping at a per-item percentile of |x| or at an absolute threshold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from .._batch import valid_mask
from .base import Corruption
from .params import Param, ParamValue, SeverityTable, exactly_one
from .registry import register


def percentile_of_abs(audio: Tensor, lengths: Tensor, percentiles: Sequence[float]) -> Tensor:
    """Per item, the ``percentiles[i]``-th percentile of ``|x|`` over all channels and valid samples.

    Linear interpolation between order statistics (numpy's default ``linear`` method);
    an item with no valid samples gets 0. Returns float64 ``[B]`` on ``audio``'s device.
    """
    b, c, t = audio.shape
    mask = valid_mask(lengths, t, audio.device).expand(b, c, t).reshape(b, c * t)
    mags = audio.abs().to(torch.float64).reshape(b, c * t)
    ordered = torch.sort(torch.where(mask, mags, torch.full_like(mags, torch.inf)), dim=-1).values
    count = (lengths.to(torch.float64) * c).to(audio.device)
    pct = torch.tensor(list(percentiles), dtype=torch.float64, device=audio.device)
    pos = pct / 100.0 * (count - 1).clamp_min(0)
    lo = pos.floor().long()
    hi = torch.minimum(lo + 1, (count - 1).clamp_min(0).long())
    if c * t == 0:
        return torch.zeros(b, dtype=torch.float64, device=audio.device)
    v_lo = ordered.gather(1, lo[:, None])[:, 0]
    v_hi = ordered.gather(1, hi[:, None])[:, 0]
    value = v_lo + (v_hi - v_lo) * (pos - lo)
    return torch.where(count > 0, value, torch.zeros_like(value))


@register
class Clipping(Corruption):
    """Clamp to ``[-thr, thr]``; set exactly one of ``percentile`` or ``threshold``.

    ``percentile``: ``thr`` is that percentile of ``|x|`` over the item's valid samples
    (all channels together), so about ``100 - percentile`` % of samples are clipped
    whatever the level. ``threshold``: ``thr`` is an absolute amplitude.
    """

    name = "clipping"
    family = "modification"
    description = "Hard clipping at the `percentile` of |x| per item, or at an absolute `threshold`."
    params = (
        Param("percentile", 99.0, float, low=0.0, high=100.0, unit="%", optional=True,
              help="clip level as a percentile of |x| (about 100 - percentile % samples clipped)"),
        Param("threshold", None, float, low=1e-9, high=100.0, unit="amplitude", optional=True,
              help="absolute clip level (use instead of percentile)"),
    )
    # No published anchor. Share of clipped samples 0.1 % (occasional peak clipping) to 20 %
    # (a badly overdriven recording); audiomentations' ClippingDistortion samples 0-40 %.
    levels = SeverityTable(
        "audiostress",
        "audiostress default: 0.1, 1, 5, 10 and 20 % of samples clipped",
        ({"percentile": 99.9}, {"percentile": 99.0}, {"percentile": 95.0}, {"percentile": 90.0},
         {"percentile": 80.0}),
    )

    def __init__(self, **params: Any) -> None:
        if params.get("threshold") is not None and "percentile" not in params:
            params["percentile"] = None  # an explicit threshold replaces the default percentile
        super().__init__(**params)

    def check_params(self, values: Mapping[str, ParamValue]) -> None:
        exactly_one(self.name, values, (("percentile",), ("threshold",)))

    def transform(self, audio, sample_rate, params, generators, lengths):  # type: ignore[override]
        fixed = [t is not None for t in params["threshold"]]
        absolute = torch.tensor([t or 0.0 for t in params["threshold"]], dtype=torch.float64, device=audio.device)
        if all(fixed):  # no percentile needed: skip the per-item sort
            thr = absolute
        else:
            pct = [100.0 if p is None else float(p) for p in params["percentile"]]
            thr = percentile_of_abs(audio, lengths, pct)
            if any(fixed):
                thr = torch.where(torch.tensor(fixed, device=audio.device), absolute, thr)
        thr = thr.view(-1, 1, 1)
        return audio.to(torch.float64).clamp(-thr, thr).to(audio.dtype)
