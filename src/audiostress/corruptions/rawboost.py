"""``rawboost``: the RawBoost algorithms 1-8 of the SSL_Anti-spoofing recipe (Tak et al., ICASSP 2022).

1 = LnL, 2 = ISD, 3 = SSI; in series 4 = 1+2+3, 5 = 1+2, 6 = 1+3, 7 = 2+3; in
parallel 8 = 1 || 2 (outputs summed). Convention: ``algo=3`` for DF, ``algo=5``
for LA and in-the-wild (the default here). Every parameter defaults to the
recipe; draws come from each item's generator (``_rawboost_dsp.py`` lists the
departures from the recipe, all for alignment and monotonic strength).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from ._rawboost_dsp import FILTER_PARAMS, ISD_PARAMS, LNL_PARAMS, SSI_PARAMS, check_ranges, run_items
from .base import Corruption
from .params import Param, ParamValue, SeverityTable
from .registry import register

_MIX = (0.2, 0.4, 0.6, 0.8, 1.0)
_PERCENT = (2.0, 5.0, 10.0, 20.0, 40.0)
_SNR = (40.0, 32.5, 25.0, 17.5, 10.0)


@register
class Rawboost(Corruption):
    """RawBoost ``algo`` 1..8 with the recipe's ranges (default 5, the LA / in-the-wild convention)."""

    name = "rawboost"
    family = "noise"
    description = "RawBoost algo 1-8 (SSL_Anti-spoofing); 3 for DF, 5 for LA and in-the-wild."
    stochastic = True
    params = (
        Param("algo", 5, int, low=1, high=8, help="1 LnL, 2 ISD, 3 SSI, 4 = 1+2+3, 5 = 1+2, 6 = 1+3, 7 = 2+3, 8 = 1||2"),
        *FILTER_PARAMS,
        *LNL_PARAMS,
        *ISD_PARAMS,
        *SSI_PARAMS,
    )
    # Each level moves every stage to the same level of its own table (rawboost_lnl, rawboost_isd, rawboost_ssi).
    levels = SeverityTable(
        "stages",
        "audiostress: every RawBoost stage at the same level of its own table (lnl_mix, ISD P, SSI SNR)",
        tuple(
            {"lnl_mix": m, "isd_max_percent": p, "ssi_min_snr_db": s, "ssi_max_snr_db": s}
            for m, p, s in zip(_MIX, _PERCENT, _SNR)
        ),
    )

    def check_params(self, values: Mapping[str, ParamValue]) -> None:
        check_ranges(self.name, values)

    def transform_group(
        self, audio: Tensor, sample_rate: int, generators: list[torch.Generator], lengths: Tensor, **params: Any
    ) -> Tensor:
        algo = int(params.pop("algo"))
        return run_items(audio, sample_rate, generators, lengths, algo, params)
