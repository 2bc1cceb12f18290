"""``rawboost_lnl``: RawBoost algorithm 1, linear and non-linear convolutive noise (Tak et al. 2022)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from ._rawboost_dsp import FILTER_PARAMS, LNL_PARAMS, check_ranges, run_items
from .base import Corruption
from .params import ParamValue, SeverityTable
from .registry import register


@register
class RawboostLnl(Corruption):
    """Sum of x^k through random multi-band FIR filters (recipe ranges); ``lnl_mix`` blends it with the input."""

    name = "rawboost_lnl"
    family = "modification"
    description = "RawBoost LnL convolutive noise (SSL_Anti-spoofing defaults); lnl_mix 1 = the recipe."
    stochastic = True
    params = FILTER_PARAMS + LNL_PARAMS
    # The recipe has no strength knob (its filters are drawn); the table blends its output with the clean input,
    # so the measured SNR falls strictly with severity. Level 5 is the recipe itself.
    levels = SeverityTable(
        "mix",
        "audiostress: RawBoost LnL (SSL_Anti-spoofing defaults) blended with the input, lnl_mix 0.2..1.0 (5 = recipe)",
        tuple({"lnl_mix": m} for m in (0.2, 0.4, 0.6, 0.8, 1.0)),
    )

    def check_params(self, values: Mapping[str, ParamValue]) -> None:
        check_ranges(self.name, values)

    def transform_group(
        self, audio: Tensor, sample_rate: int, generators: list[torch.Generator], lengths: Tensor, **params: Any
    ) -> Tensor:
        return run_items(audio, sample_rate, generators, lengths, 1, params)
