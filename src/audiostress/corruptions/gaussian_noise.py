"""White Gaussian noise at a target SNR."""

from __future__ import annotations

from ._mixing import LI2025_SNR_LEVELS, SNR_DB_PARAM, mix_at_snr, per_item_noise
from .base import Corruption
from .params import SeverityTable
from .registry import register


@register
class GaussianNoise(Corruption):
    """Add white Gaussian noise so the clip's SNR (over its valid samples) is ``snr_db``."""

    name = "gaussian_noise"
    family = "noise"
    description = "White Gaussian noise at snr_db, power measured over the valid samples."
    stochastic = True
    params = (SNR_DB_PARAM,)
    # Li, Chen & Wei 2025 / AudioMarkBench gaussian-noise levels (ANCHORS.md).
    levels = SeverityTable(
        "li2025",
        "Li, Chen & Wei 2025 'Measuring the Robustness of Audio Deepfake Detectors' / AudioMarkBench",
        LI2025_SNR_LEVELS,
    )

    def transform(self, audio, sample_rate, params, generators, lengths):  # type: ignore[override]
        noise = per_item_noise(generators, audio.shape[1], lengths, audio.shape[-1], audio.device)
        return mix_at_snr(audio, noise, params["snr_db"], lengths)
