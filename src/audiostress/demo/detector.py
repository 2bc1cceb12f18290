"""The demo's baseline detector: LFCC statistics + logistic regression. A baseline, not a product.

Features per clip: linear-frequency cepstral coefficients (power STFT -> a
triangular filterbank spaced linearly over 0..Nyquist -> band energies relative
to the clip's mean band energy -> log with a floor of ``log_floor`` -> DCT-II), summarised
by their mean, standard deviation and mean absolute frame-to-frame delta. A
logistic regression on standardised features gives one logit per clip; higher =
more fake (load it with ``output: {kind: score, higher_is_fake: true}``).

It is trained at first use on generated demo clips whose seeds are disjoint
from the evaluation clips (``data.TRAIN_SEED``), with full-batch L-BFGS (no
randomness), and cached as a plain state dict in ``$AUDIOSTRESS_CACHE`` (default
``~/.cache/audiostress``) under a file name keyed by a hash of the training
config. The sweep loads it through the ordinary loader path:
``load_detector("audiostress.demo.detector:build", checkpoint=...)``, which reads
the state dict with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import torch
import torchaudio.functional as taf
from torch import Tensor, nn

from .._paths import cache_root
from . import data

log = logging.getLogger("audiostress.demo")

#: Everything that changes the trained weights; its hash names the cache file.
TRAIN_CONFIG: dict[str, Any] = {
    "version": 2,
    "sample_rate": data.SAMPLE_RATE,
    "n_fft": 512,
    "hop": 160,
    "n_filters": 24,
    "n_coeffs": 20,
    "n_train_per_class": 40,
    "train_seed": data.TRAIN_SEED,
    "log_floor": 1e-3,
    "l2": 0.3,
    "lbfgs_steps": 60,
    "gl_iters": data.GL_ITERS,
    "mel_fmax_hz": data.MEL_FMAX_HZ,
}
DETECTOR_NAME = "demo-lfcc-logreg (baseline)"
#: How the loader must read this model's output and prepare its input.
INPUT = {"sample_rate": data.SAMPLE_RATE, "length": int(data.SAMPLE_RATE * data.DURATION_S), "pad": "repeat", "crop": "first"}
OUTPUT = {"kind": "score", "higher_is_fake": True}


def linear_filterbank(n_freqs: int, n_filters: int) -> Tensor:
    """``[n_freqs, n_filters]`` triangular filters with centres spaced linearly from 0 to Nyquist."""
    edges = torch.linspace(0, n_freqs - 1, n_filters + 2, dtype=torch.float64)
    bins = torch.arange(n_freqs, dtype=torch.float64)[:, None]
    lo, mid, hi = edges[:-2], edges[1:-1], edges[2:]
    up = (bins - lo) / (mid - lo)
    down = (hi - bins) / (hi - mid)
    return torch.clamp(torch.minimum(up, down), min=0.0).to(torch.float32)


class LfccLogReg(nn.Module):
    """LFCC summary statistics -> standardisation -> logistic regression (one logit per clip)."""

    # buffers (registered in __init__), declared for type checkers
    window: Tensor
    filterbank: Tensor
    dct: Tensor
    feature_mean: Tensor
    feature_std: Tensor
    weight: Tensor
    bias: Tensor

    def __init__(self, n_fft: int = 512, hop: int = 160, n_filters: int = 24, n_coeffs: int = 20,
                 log_floor: float = 1e-3) -> None:
        super().__init__()
        self.n_fft, self.hop, self.log_floor = n_fft, hop, log_floor
        dim = 3 * n_coeffs
        self.register_buffer("window", torch.hann_window(n_fft))
        self.register_buffer("filterbank", linear_filterbank(n_fft // 2 + 1, n_filters))
        self.register_buffer("dct", taf.create_dct(n_coeffs, n_filters, norm="ortho"))
        self.register_buffer("feature_mean", torch.zeros(dim))
        self.register_buffer("feature_std", torch.ones(dim))
        self.register_buffer("weight", torch.zeros(dim))
        self.register_buffer("bias", torch.zeros(()))

    def features(self, audio: Tensor) -> Tensor:
        """``[B, T]`` -> ``[B, 3 * n_coeffs]`` (LFCC mean, std, mean |delta|)."""
        spec = torch.stft(audio.float(), self.n_fft, self.hop, window=self.window, return_complex=True)
        power = spec.real.square() + spec.imag.square()  # [B, F, frames]
        bands = torch.einsum("bft,fk->btk", power, self.filterbank)
        ref = bands.mean(dim=(1, 2), keepdim=True).clamp_min(1e-12)  # level-independent, floored log
        lfcc = torch.log(bands / ref + self.log_floor) @ self.dct  # [B, frames, n_coeffs]
        delta = (lfcc[:, 1:] - lfcc[:, :-1]).abs().mean(dim=1)
        return torch.cat([lfcc.mean(dim=1), lfcc.std(dim=1), delta], dim=1)

    def forward(self, audio: Tensor) -> Tensor:
        z = (self.features(audio) - self.feature_mean) / self.feature_std
        return z @ self.weight + self.bias


def build() -> LfccLogReg:
    """The factory the loader calls (``audiostress.demo.detector:build``); weights come from the checkpoint."""
    c = TRAIN_CONFIG
    return LfccLogReg(c["n_fft"], c["hop"], c["n_filters"], c["n_coeffs"], c["log_floor"])


def train(config: dict[str, Any] = TRAIN_CONFIG) -> dict[str, Tensor]:
    """Train on generated clips (seeds from ``train_seed``); returns the state dict."""
    with data.torch_threads(1):
        return _train(config)


def _train(config: dict[str, Any]) -> dict[str, Tensor]:
    model = LfccLogReg(config["n_fft"], config["hop"], config["n_filters"], config["n_coeffs"], config["log_floor"])
    clips = data.make_clips(config["n_train_per_class"], config["train_seed"])
    audio = torch.cat([c.audio for c in clips])  # [N, T]
    labels = torch.tensor([1.0 if c.label == "spoof" else 0.0 for c in clips], dtype=torch.float64)
    with torch.no_grad():
        feats = model.features(audio).double()
    mean, std = feats.mean(dim=0), feats.std(dim=0).clamp_min(1e-6)
    z = (feats - mean) / std
    w = torch.zeros(z.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=config["lbfgs_steps"], line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(z @ w + b, labels) + config["l2"] * w.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    model.feature_mean.copy_(mean.float())
    model.feature_std.copy_(std.float())
    model.weight.copy_(w.detach().float())
    model.bias.copy_(b.detach().float())
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def cache_dir() -> Path:
    """``$AUDIOSTRESS_CACHE`` or ``~/.cache/audiostress``."""
    return cache_root()


def config_hash(config: dict[str, Any] = TRAIN_CONFIG) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def checkpoint_path(config: dict[str, Any] = TRAIN_CONFIG) -> Path:
    return cache_dir() / f"demo-lfcc-logreg-{config_hash(config)}.pt"


def ensure_checkpoint(config: dict[str, Any] = TRAIN_CONFIG, *, quiet: bool = False) -> Path:
    """The cached checkpoint for ``config``, training it first if it is not there yet."""
    path = checkpoint_path(config)
    if path.exists():
        return path
    (log.debug if quiet else log.info)("training the baseline detector (once; cached at %s)", path)
    state = train(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path
