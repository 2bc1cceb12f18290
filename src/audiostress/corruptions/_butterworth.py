"""Butterworth filtering in the FFT domain, batched on the tensor's device.

Shared by ``low_pass``, ``high_pass`` and ``band_pass``. Coefficients come from
``scipy.signal.butter(..., output="sos")`` (design only, cached); the filter is
applied by multiplying the spectrum of the zero-padded clip with the filter's
frequency response evaluated from those second-order sections:

- causal (``zero_phase=False``): ``Y = H X``, the same output as running the
  sections with zero initial state (``scipy.signal.sosfilt``), including the
  group delay that the Li et al. anchors have;
- zero phase (``zero_phase=True``): ``Y = |H|^2 X``, the same output as
  forward-backward filtering (``sosfilt`` forward, then backward) of the
  zero-extended clip: no delay, and the magnitude response squared (the cutoff
  sits at -6 dB instead of -3 dB, the stop-band slope doubles).

Why the FFT domain rather than a recursive ``lfilter``: it is a handful of
batched FFT kernels on any device, with per-item cut-offs, instead of a
sequential recursion over time. The FFT is long enough (clip + twice the
impulse-response tail, the tail taken from the pole radii to decay below
``TAIL_EPS``) that circular wrap-around is negligible, so the result does not
depend on how much padding a batch carries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._batch import valid_mask
from .base import Corruption
from .params import Param, exactly_one

#: The impulse response is treated as over once its envelope is below this (relative).
TAIL_EPS = 1e-10
#: Extra samples added to the pole-radius estimate of the tail (covers the
#: polynomial factor of the envelope and short, fast-decaying filters).
TAIL_MARGIN = 64
#: An identity second-order section, used to pad designs with fewer sections.
_IDENTITY_SOS = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)

ZERO_PHASE_PARAM = Param(
    "zero_phase",
    True,
    bool,
    help="true: forward-backward filtering (no delay, magnitude squared); false: causal, as in the anchors",
)
ORDER_PARAM = Param("order", 5, int, low=1, high=10, help="Butterworth order (per edge for band_pass)")


@lru_cache(maxsize=256)
def design(btype: str, order: int, edges: tuple[float, ...]) -> tuple[tuple[tuple[float, ...], ...], int]:
    """Second-order sections and impulse-response tail (samples) of a digital Butterworth.

    ``edges`` are fractions of Nyquist in (0, 1); ``btype`` is ``lowpass``,
    ``highpass`` or ``bandpass``.
    """
    from scipy import signal as sps

    wn: float | list[float] = edges[0] if len(edges) == 1 else list(edges)
    sos = sps.butter(order, wn, btype=btype, output="sos")
    radius = 0.0
    for section in sos:
        poles = np.roots(section[3:])
        if poles.size:
            radius = max(radius, float(np.abs(poles).max()))
    tail = TAIL_MARGIN
    if radius > 0.0:
        tail += int(math.ceil(math.log(TAIL_EPS) / math.log(min(radius, 1.0 - 1e-12))))
    return tuple(tuple(float(c) for c in s) for s in sos), tail


def response(sos: Tensor, n_fft: int) -> Tensor:
    """Frequency response ``H`` at the ``n_fft // 2 + 1`` rfft bins: ``[U, F]`` complex.

    ``sos`` is ``[U, S, 6]`` (float64) on the target device.
    """
    k = torch.arange(n_fft // 2 + 1, device=sos.device, dtype=sos.dtype)
    z1 = torch.polar(torch.ones_like(k), -2.0 * math.pi * k / n_fft)  # e^{-jw}
    z2 = z1 * z1
    h = torch.ones(sos.shape[0], k.numel(), dtype=z1.dtype, device=sos.device)
    for s in range(sos.shape[1]):
        c = sos[:, s, :, None]
        num = c[:, 0] + c[:, 1] * z1 + c[:, 2] * z2
        den = c[:, 3] + c[:, 4] * z1 + c[:, 5] * z2
        h = h * (num / den)
    return h


def apply_designs(
    audio: Tensor,
    lengths: Tensor,
    designs: Sequence[tuple[str, int, tuple[float, ...]]],
    zero_phase: Sequence[bool],
) -> Tensor:
    """Filter each item ``i`` of ``[B, C, T]`` audio with ``designs[i]`` (see ``design``).

    Samples beyond ``lengths[i]`` are treated as zero. Returns ``[B, C, T]`` in
    the input dtype on the input device.
    """
    b, c, t = audio.shape
    keys = [(designs[i], bool(zero_phase[i])) for i in range(b)]
    unique = list(dict.fromkeys(keys))
    built = [design(*d) for d, _ in unique]
    n_sections = max(len(sos) for sos, _ in built)
    tail = max(tl for _, tl in built)
    n_fft = 1 << max(1, (t + 2 * tail - 1).bit_length())
    real = torch.float32 if audio.device.type == "mps" else torch.float64
    sos = torch.tensor(
        [list(s) + [_IDENTITY_SOS] * (n_sections - len(s)) for s, _ in built], dtype=real, device=audio.device
    )
    h = response(sos, n_fft)
    phase_free = torch.tensor([zp for _, zp in unique], device=audio.device)
    h = torch.where(phase_free[:, None], (h.abs() ** 2).to(h.dtype), h)
    index = torch.tensor([unique.index(k) for k in keys], device=audio.device)
    x = (audio * valid_mask(lengths, t, audio.device)).to(torch.float32)
    spec = torch.fft.rfft(x, n=n_fft) * h[index].to(torch.complex64)[:, None, :]
    return torch.fft.irfft(spec, n=n_fft)[..., :t].to(audio.dtype)


def fraction_of_nyquist(owner: str, name: str, hz: float, sample_rate: int) -> float:
    """``hz / (sample_rate / 2)``, rejecting edges at or above Nyquist."""
    nyquist = sample_rate / 2.0
    if not 0.0 < hz < nyquist:
        raise ValueError(
            f"Expected `{name}` in 0..{nyquist:g} (below Nyquist) for {owner} at {sample_rate} Hz, got {hz:g}"
        )
    return hz / nyquist


class ButterworthFilter(Corruption):
    """Base of the Butterworth filters: subclasses map one item's params to band edges.

    Subclasses declare their params (always including ``order`` and
    ``zero_phase``) and implement ``edges``.
    """

    family = "filter"
    btype: str = ""

    def edges(self, item: dict[str, Any], sample_rate: int) -> tuple[str, tuple[float, ...]]:
        """``(btype, edges as fractions of Nyquist)`` for one item's parameter values."""
        raise NotImplementedError

    def transform(self, audio, sample_rate, params, generators, lengths):  # type: ignore[override]
        designs = []
        for i in range(audio.shape[0]):
            item = {name: values[i] for name, values in params.items()}
            btype, wn = self.edges(item, sample_rate)
            designs.append((btype, int(item["order"]), wn))
        return apply_designs(audio, lengths, designs, params["zero_phase"])


class SingleCutoffFilter(ButterworthFilter):
    """A low- or high-pass (``btype``) at ``cutoff_hz`` or ``cutoff_fraction`` of Nyquist (exactly one)."""

    params = (
        Param("cutoff_hz", None, float, low=1.0, unit="Hz", help="cutoff frequency, below Nyquist", optional=True),
        Param("cutoff_fraction", None, float, low=0.001, high=0.999, help="cutoff as a fraction of Nyquist", optional=True),
        ORDER_PARAM,
        ZERO_PHASE_PARAM,
    )

    def check_params(self, values):  # type: ignore[override]
        exactly_one(self.name, values, (("cutoff_hz",), ("cutoff_fraction",)))

    def edges(self, item: dict[str, Any], sample_rate: int) -> tuple[str, tuple[float, ...]]:
        if item["cutoff_hz"] is not None:
            return self.btype, (fraction_of_nyquist(self.name, "cutoff_hz", item["cutoff_hz"], sample_rate),)
        return self.btype, (float(item["cutoff_fraction"]),)
