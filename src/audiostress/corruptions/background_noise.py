"""Recorded background noise from a folder, resampled to the clip's rate, at a target SNR."""

from __future__ import annotations

from typing import Any

import torch

from ._folder_audio import load_at, pick_file, resolve_dir
from ._mixing import LI2025_SNR_LEVELS, SNR_DB_PARAM, mix_at_snr
from .base import Corruption
from .params import Param, SeverityTable
from .registry import register

#: Environment variable naming the default noise folder.
NOISE_DIR_ENV = "AUDIOSTRESS_NOISE_DIR"


@register
class BackgroundNoise(Corruption):
    """Mix a noise recording from ``noise_dir`` into each clip at ``snr_db``.

    For each item the file and a start offset are drawn from the item's
    generator. The file is resampled to the clip's sample rate (unlike the Li et
    al. code, which mixes an 8 kHz file in at 16 kHz), mixed down to mono when
    its channel count differs from the clip's, then looped or cropped to the
    clip's valid length starting at the offset. Without ``noise_dir`` the folder
    comes from the ``AUDIOSTRESS_NOISE_DIR`` environment variable, resolved when
    the corruption is built so that ``to_dict`` records the real folder.
    """

    name = "background_noise"
    family = "noise"
    description = "Noise recordings from noise_dir (or $AUDIOSTRESS_NOISE_DIR), resampled, looped, mixed at snr_db."
    stochastic = True
    params = (
        SNR_DB_PARAM,
        Param("noise_dir", None, str, help=f"folder of noise files (default: ${NOISE_DIR_ENV})", optional=True),
    )
    # Li, Chen & Wei 2025 / AudioMarkBench background-noise levels (ANCHORS.md).
    levels = SeverityTable(
        "li2025",
        "Li, Chen & Wei 2025 'Measuring the Robustness of Audio Deepfake Detectors' / AudioMarkBench",
        LI2025_SNR_LEVELS,
    )

    def __init__(self, **params: Any) -> None:
        if params.get("noise_dir") is None:
            params["noise_dir"] = resolve_dir(self.name, "noise_dir", None, NOISE_DIR_ENV)
        super().__init__(**params)

    def transform(self, audio, sample_rate, params, generators, lengths):  # type: ignore[override]
        b, c, t = audio.shape
        noise = torch.zeros(b, c, t, dtype=torch.float32)
        listings: dict[str, list[str]] = {}
        for i, g in enumerate(generators):
            source = load_at(pick_file(self.name, "noise_dir", params["noise_dir"][i], g, listings), sample_rate)
            offset = int(torch.randint(source.shape[-1], (1,), generator=g))
            if source.shape[0] != c:
                source = source.mean(dim=0, keepdim=True).expand(c, -1)
            n = int(lengths[i])
            index = (offset + torch.arange(n)) % source.shape[-1]
            noise[i, :, :n] = source[:, index]
        return mix_at_snr(audio, noise.to(audio.device), params["snr_db"], lengths)
