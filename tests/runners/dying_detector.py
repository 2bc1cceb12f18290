"""A detector for the fault tests: the analytic detector, except that it kills its own process.

``build(mode, marker, spare_pid)``: in any process other than ``spare_pid`` (the
test's own, which runs the preflight), ``mode="once"`` SIGKILLs the process on
its first call when ``marker`` does not exist yet (and creates it), and
``mode="always"`` SIGKILLs it on every call. Scores are the analytic detector's.
"""

from __future__ import annotations

import importlib.util
import os
import signal
from pathlib import Path

import torch

_spec = importlib.util.spec_from_file_location("analytic_detector_for_dying", Path(__file__).with_name("analytic_detector.py"))
assert _spec is not None and _spec.loader is not None
_analytic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_analytic)


class DyingDetector(_analytic.HighBandDetector):
    def __init__(self, mode: str, marker: str, spare_pid: int, delay_ms: float = 0.0) -> None:
        super().__init__(delay_ms)
        self.mode, self.marker, self.spare_pid = mode, Path(marker), spare_pid

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if os.getpid() != self.spare_pid:
            if self.mode == "always" or (self.mode == "once" and not self.marker.exists()):
                self.marker.touch()
                os.kill(os.getpid(), signal.SIGKILL)
        return super().forward(audio)


def build(mode: str = "never", marker: str = "", spare_pid: int = 0, delay_ms: float = 0.0) -> torch.nn.Module:
    return DyingDetector(mode, marker, spare_pid, delay_ms)
