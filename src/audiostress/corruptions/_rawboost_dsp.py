"""RawBoost signal processing (Tak et al., ICASSP 2022), written for per-item torch generators.

The three operations of the SSL_Anti-spoofing recipe, with its default ranges
(ANCHORS.md): LnL (linear and non-linear convolutive noise), ISD (impulsive
signal-dependent noise) and SSI (stationary signal-independent coloured noise),
and the algorithm numbers that combine them. Every value the recipe draws from
the global ``np.random`` is drawn here from the item's ``torch.Generator``.

Departures from the recipe, each for the corruption contract:
- the FIR filters are linear phase and their delay (half the taps) is removed, so
  the output stays aligned with the input (the recipe's ``lfilter`` delays it);
- band edges are kept inside (1 Hz, Nyquist - 1 Hz), so the recipe's 8 kHz upper
  edge also works at 16 kHz, where ``fc + bw/2`` may pass Nyquist;
- ISD draws its percentage continuously in [0, P] and its positions and factors
  for the whole clip in a fixed order, so for one seed a larger P hits a superset
  of the samples a smaller one hits (strength is monotonic in P);
- LnL's ``lnl_mix`` blends its output with the input (1.0 = the recipe), the knob
  its severity table varies; SNR falls strictly as the mix rises.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .params import Param, draw_unit

#: Filter ranges shared by LnL and SSI (recipe defaults).
FILTER_PARAMS = (
    Param("n_bands", 5, int, low=1, high=10, help="band-pass filters convolved into one multi-band filter"),
    Param("min_f_hz", 20.0, float, low=1.0, high=96000.0, unit="Hz", help="lowest band centre"),
    Param("max_f_hz", 8000.0, float, low=1.0, high=96000.0, unit="Hz", help="highest band centre"),
    Param("min_bw_hz", 100.0, float, low=1.0, high=48000.0, unit="Hz", help="narrowest band"),
    Param("max_bw_hz", 1000.0, float, low=1.0, high=48000.0, unit="Hz", help="widest band"),
    Param("min_coeff", 10, int, low=3, high=1000, help="fewest FIR taps per band (made odd)"),
    Param("max_coeff", 100, int, low=3, high=1000, help="most FIR taps per band (made odd)"),
    Param("min_g_db", 0.0, float, low=-100.0, high=100.0, unit="dB", help="lowest filter gain"),
    Param("max_g_db", 0.0, float, low=-100.0, high=100.0, unit="dB", help="highest filter gain"),
)
LNL_PARAMS = (
    Param("n_f", 5, int, low=1, high=10, help="terms x, x^2, ..., x^n_f, each through its own filter"),
    Param("min_bias_db", 5.0, float, low=0.0, high=100.0, unit="dB", help="least attenuation of the non-linear terms"),
    Param("max_bias_db", 20.0, float, low=0.0, high=100.0, unit="dB", help="most attenuation of the non-linear terms"),
    Param("lnl_mix", 1.0, float, low=0.0, high=1.0, help="share of the LnL output in the result (1 = the recipe)"),
)
ISD_PARAMS = (
    Param("isd_max_percent", 10.0, float, low=0.0, high=100.0, unit="%", help="P: at most this share of samples hit"),
    Param("isd_g_sd", 2.0, float, low=0.0, high=100.0, help="g_sd: impulse gain relative to the sample it hits"),
)
SSI_PARAMS = (
    Param("ssi_min_snr_db", 10.0, float, low=-20.0, high=120.0, unit="dB", help="lowest SNR of the coloured noise"),
    Param("ssi_max_snr_db", 40.0, float, low=-20.0, high=120.0, unit="dB", help="highest SNR of the coloured noise"),
)
#: algo -> the steps run in series; 8 runs LnL and ISD in parallel and sums them.
ALGOS: dict[int, tuple[str, ...]] = {
    1: ("lnl",), 2: ("isd",), 3: ("ssi",), 4: ("lnl", "isd", "ssi"), 5: ("lnl", "isd"), 6: ("lnl", "ssi"),
    7: ("isd", "ssi"), 8: ("lnl", "isd"),
}
PARALLEL_ALGOS = frozenset({8})


def check_ranges(owner: str, values: Mapping[str, Any]) -> None:
    """Every (min, max) pair in order; ``ValueError`` naming the pair otherwise."""
    pairs = (("min_f_hz", "max_f_hz"), ("min_bw_hz", "max_bw_hz"), ("min_coeff", "max_coeff"),
             ("min_bias_db", "max_bias_db"), ("ssi_min_snr_db", "ssi_max_snr_db"))
    for lo, hi in pairs:
        a, b = values.get(lo), values.get(hi)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > b:
            raise ValueError(f"Expected `{lo}` <= `{hi}` for {owner}, got {a} > {b}")


def _uniform(g: torch.Generator, lo: float, hi: float) -> float:
    return float(lo) + (float(hi) - float(lo)) * draw_unit(g)


def _randint(g: torch.Generator, lo: int, hi: int) -> int:
    return int(torch.randint(int(lo), int(hi) + 1, (1,), generator=g))


def multiband_filter(g: torch.Generator, sample_rate: int, p: Mapping[str, Any], min_g: float, max_g: float) -> np.ndarray:
    """Linear-phase FIR taps: ``n_bands`` random band-passes convolved, scaled to a peak gain in [min_g, max_g] dB."""
    from scipy import signal

    nyquist = sample_rate / 2.0
    taps = np.ones(1)
    for _ in range(int(p["n_bands"])):
        fc = _uniform(g, p["min_f_hz"], p["max_f_hz"])
        bw = _uniform(g, p["min_bw_hz"], p["max_bw_hz"])
        n = _randint(g, p["min_coeff"], p["max_coeff"])
        n += 1 - n % 2
        hi = min(fc + bw / 2.0, nyquist - 1.0)
        lo = min(max(fc - bw / 2.0, 1.0), hi - 1.0)
        taps = np.convolve(taps, signal.firwin(n, [lo, hi], pass_zero=False, fs=sample_rate))
    gain_db = _uniform(g, min_g, max_g)
    _, response = signal.freqz(taps, 1, worN=1024)
    peak = float(np.abs(response).max())
    return taps * (10.0 ** (gain_db / 20.0) / max(peak, 1e-12))


def fir_aligned(x: Tensor, taps: np.ndarray) -> Tensor:
    """``x`` [C, n] through the linear-phase FIR ``taps`` with its delay removed (same length, FFT convolution)."""
    n, k = x.shape[-1], taps.shape[0]
    size = 1 << math.ceil(math.log2(n + k - 1))
    h = torch.as_tensor(taps, dtype=x.dtype, device=x.device)
    y = torch.fft.irfft(torch.fft.rfft(x, size) * torch.fft.rfft(h, size), size)
    delay = (k - 1) // 2
    return y[..., delay : delay + n]


def peak_limit(x: Tensor) -> Tensor:
    """The recipe's ``normWav(x, 0)``: divide by the peak only when it passes 1."""
    peak = float(x.abs().max()) if x.numel() else 0.0
    return x / peak if peak > 1.0 else x


def lnl(x: Tensor, g: torch.Generator, sample_rate: int, p: Mapping[str, Any]) -> Tensor:
    """Linear and non-linear convolutive noise: sum over i of filter_i(x^(i+1)), the non-linear terms attenuated."""
    y = torch.zeros_like(x)
    min_g, max_g = float(p["min_g_db"]), float(p["max_g_db"])
    for i in range(int(p["n_f"])):
        if i == 1:
            min_g, max_g = min_g - float(p["min_bias_db"]), max_g - float(p["max_bias_db"])
        y = y + fir_aligned(x ** (i + 1), multiband_filter(g, sample_rate, p, min_g, max_g))
    y = peak_limit(y - y.mean(dim=-1, keepdim=True))
    mix = float(p["lnl_mix"])
    return (1.0 - mix) * x + mix * y


def isd(x: Tensor, g: torch.Generator, p: Mapping[str, Any]) -> Tensor:
    """Impulsive signal-dependent noise: a random share (up to P %) of samples gets g_sd * x * f, f in [-1, 1]^2."""
    n = x.shape[-1]
    share = _uniform(g, 0.0, float(p["isd_max_percent"])) / 100.0
    order = torch.randperm(n, generator=g)
    f = (2.0 * torch.rand(n, generator=g, dtype=torch.float64) - 1.0) * (2.0 * torch.rand(n, generator=g, dtype=torch.float64) - 1.0)
    hit = order[: int(n * share)].to(x.device)
    y = x.clone()
    y[..., hit] = x[..., hit] * (1.0 + float(p["isd_g_sd"]) * f[: hit.numel()].to(x.device, x.dtype))
    return peak_limit(y)


def ssi(x: Tensor, g: torch.Generator, sample_rate: int, p: Mapping[str, Any]) -> Tensor:
    """Stationary coloured noise: white noise through a multi-band filter, added at an SNR in [min, max] dB."""
    noise = torch.randn(x.shape, generator=g, dtype=torch.float64).to(x.device, x.dtype)
    noise = fir_aligned(noise, multiband_filter(g, sample_rate, p, float(p["min_g_db"]), float(p["max_g_db"])))
    snr_db = _uniform(g, p["ssi_min_snr_db"], p["ssi_max_snr_db"])
    norm = float(noise.norm())
    if norm == 0.0:
        return x.clone()
    return x + noise * (float(x.norm()) / norm / 10.0 ** (snr_db / 20.0))


def rawboost(x: Tensor, g: torch.Generator, sample_rate: int, algo: int, p: Mapping[str, Any]) -> Tensor:
    """Algorithm ``algo`` (1..8) on one clip ``[C, n]`` (float64)."""
    steps = ALGOS[int(algo)]
    if int(algo) in PARALLEL_ALGOS:
        return peak_limit(lnl(x, g, sample_rate, p) + isd(x, g, p))
    for step in steps:
        x = lnl(x, g, sample_rate, p) if step == "lnl" else isd(x, g, p) if step == "isd" else ssi(x, g, sample_rate, p)
    return x


def run_items(
    audio: Tensor, sample_rate: int, generators: list[torch.Generator], lengths: Tensor, algo: int, params: Mapping[str, Any]
) -> Tensor:
    """Apply ``algo`` to each item's valid samples alone; padding stays zero."""
    work = torch.float32 if audio.device.type == "mps" else torch.float64
    out = torch.zeros_like(audio)
    for i, g in enumerate(generators):
        n = int(lengths[i])
        if n == 0:
            continue
        y = rawboost(audio[i, :, :n].to(work), g, sample_rate, algo, params)
        out[i, :, :n] = y.to(audio.dtype)
    return out
