"""``rawboost_isd``: RawBoost algorithm 2, impulsive signal-dependent noise (Tak et al. 2022)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._rawboost_dsp import ISD_PARAMS, run_items
from .base import Corruption
from .params import SeverityTable
from .registry import register


@register
class RawboostIsd(Corruption):
    """Up to ``isd_max_percent`` % of the samples (share drawn per item) get x * (1 + g_sd * f), f in [-1, 1]^2."""

    name = "rawboost_isd"
    family = "noise"
    description = "RawBoost ISD impulsive signal-dependent noise (SSL_Anti-spoofing defaults P=10 %, g_sd=2)."
    stochastic = True
    params = ISD_PARAMS
    # Level 3 is the recipe's P = 10 %; the neighbours halve and double it (g_sd stays at the recipe's 2).
    levels = SeverityTable(
        "percent",
        "audiostress: RawBoost ISD with P = 2, 5, 10 (SSL_Anti-spoofing default), 20, 40 %, g_sd = 2",
        tuple({"isd_max_percent": p} for p in (2.0, 5.0, 10.0, 20.0, 40.0)),
    )

    def transform_group(
        self, audio: Tensor, sample_rate: int, generators: list[torch.Generator], lengths: Tensor, **params: Any
    ) -> Tensor:
        return run_items(audio, sample_rate, generators, lengths, 2, params)
