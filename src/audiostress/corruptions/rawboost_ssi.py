"""``rawboost_ssi``: RawBoost algorithm 3, stationary signal-independent coloured noise (Tak et al. 2022)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from ._rawboost_dsp import FILTER_PARAMS, SSI_PARAMS, check_ranges, run_items
from .base import Corruption
from .params import ParamValue, SeverityTable
from .registry import register


@register
class RawboostSsi(Corruption):
    """White noise through a random multi-band FIR filter, added at an SNR drawn in [min, max] dB."""

    name = "rawboost_ssi"
    family = "noise"
    description = "RawBoost SSI stationary coloured noise, SNR 10-40 dB (SSL_Anti-spoofing defaults; DF uses algo 3)."
    stochastic = True
    params = FILTER_PARAMS + SSI_PARAMS
    # The recipe's SNR range 10..40 dB in five even steps, each level a fixed SNR.
    levels = SeverityTable(
        "snr",
        "audiostress: the SSL_Anti-spoofing SSI range 10-40 dB split evenly, SNR 40, 32.5, 25, 17.5, 10 dB",
        tuple({"ssi_min_snr_db": s, "ssi_max_snr_db": s} for s in (40.0, 32.5, 25.0, 17.5, 10.0)),
    )

    def check_params(self, values: Mapping[str, ParamValue]) -> None:
        check_ranges(self.name, values)

    def transform_group(
        self, audio: Tensor, sample_rate: int, generators: list[torch.Generator], lengths: Tensor, **params: Any
    ) -> Tensor:
        return run_items(audio, sample_rate, generators, lengths, 3, params)
