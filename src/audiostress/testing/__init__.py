"""Robustness assertions: gates on sweep results, baselines, presets and the pytest plugin.

Import-light like the package itself: names load from their modules on first use, so
the pytest plugin (``audiostress.testing.pytest_plugin``, loaded in every pytest run
of an environment that has audiostress) costs nothing until a test uses it.

>>> from audiostress.testing import ARTIFACTBENCH, parse_gate
>>> parse_gate(ARTIFACTBENCH[0]).metric
'codec_pair.mean'
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES: dict[str, str] = {
    "ARTIFACTBENCH": "presets",
    "ARTIFACTBENCH_CODEC_PAIR": "presets",
    "ARTIFACTBENCH_OPERATING_POINT": "presets",
    "ARTIFACTBENCH_REGRESSION": "presets",
    "Gate": "grammar",
    "GateError": "grammar",
    "parse_gate": "grammar",
    "CI_MODES": "gates",
    "MIN_N": "gates",
    "CheckReport": "gates",
    "GateFailure": "gates",
    "StaleBaselineWarning": "gates",
    "check": "gates",
    "Baseline": "baseline",
    "BaselineError": "baseline",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'audiostress.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
