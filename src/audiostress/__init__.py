"""audiostress: stress-test audio deepfake detectors against noise, signal modification and codecs.

The package is a lazy facade: ``import audiostress`` loads neither torch nor any
submodule. Each public name is imported from its home module on first use, so a
pytest plugin or a CLI that only needs one corner stays fast.

>>> import sys, audiostress
>>> audiostress.__version__
'0.1.0'
>>> sorted(set(audiostress.__all__) - {"__version__"}) == sorted(audiostress._EXPORTS)
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:  # the real imports, for type checkers and IDEs only
    from .api import sweep
    from .corruptions import Chain, Maybe, OneOf, available, corrupt, create
    from .data import load_dataset
    from .detectors import DetectorSpec, load_detector
    from .results import CellResult, CleanResult, SweepResult, load_results
    from .runners.worker_start import prestart_workers

#: public name -> module that defines it (imported on first attribute access)
_EXPORTS: dict[str, str] = {
    "sweep": "audiostress.api",
    "corrupt": "audiostress.corruptions",
    "create": "audiostress.corruptions",
    "available": "audiostress.corruptions",
    "Chain": "audiostress.corruptions",
    "OneOf": "audiostress.corruptions",
    "Maybe": "audiostress.corruptions",
    "load_dataset": "audiostress.data",
    "load_detector": "audiostress.detectors",
    "DetectorSpec": "audiostress.detectors",
    "SweepResult": "audiostress.results",
    "CellResult": "audiostress.results",
    "CleanResult": "audiostress.results",
    "load_results": "audiostress.results",
    "prestart_workers": "audiostress.runners.worker_start",
}

__all__ = [
    "CellResult",
    "Chain",
    "CleanResult",
    "DetectorSpec",
    "Maybe",
    "OneOf",
    "SweepResult",
    "__version__",
    "available",
    "corrupt",
    "create",
    "load_dataset",
    "load_detector",
    "load_results",
    "prestart_workers",
    "sweep",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'audiostress' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
