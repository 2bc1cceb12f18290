"""A detector that raises SystemExit or calls os._exit ends the sweep with a SweepAbort naming it; earlier rows stay."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from sweep_fixtures import DETECTOR_INPUT

from audiostress.detectors import load_detector
from audiostress.runners.engine import SweepAbort
from audiostress.runners.sweep import SweepConfig, run_sweep

#: One device cell: the sweep makes one detector call per (group, cell), clean first.
GRID = "cells:\n  - {corruption: gain, severity: 5}\n"
#: The factory's model exits on its third call with more than 2 clips (the preflight scores 2): the
#: first group's clean and gain calls succeed, the second group's clean call exits.
FACTORY = """
import os
import torch

class Exiting(torch.nn.Module):
    def __init__(self, how):
        super().__init__()
        self.how, self.calls = how, 0

    def forward(self, x):
        self.calls += x.shape[0] > 2
        if self.calls == 3 and x.shape[0] > 2:
            if self.how == "os_exit":
                try:
                    os._exit(3)
                except Exception:  # a detector's own handler must not swallow the exit
                    pass
            raise SystemExit(4)
        return x.mean(dim=1)

def build(how="system_exit"):
    return Exiting(how)
"""


def stored(out: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(str(out / "results.sqlite")) as conn:
        return list(conn.execute("SELECT clip_id, cell_id, error FROM scores ORDER BY clip_id, cell_id"))


@pytest.mark.parametrize(
    ("how", "phrase"), [("system_exit", r"raised SystemExit\(4\)"), ("os_exit", r"called os\._exit\(3\)")]
)
def test_a_detector_exit_aborts_naming_the_detector_and_keeps_finished_rows(
    tmp_path: Path, dataset_dir: Path, how: str, phrase: str
) -> None:
    factory = tmp_path / "exiting.py"
    factory.write_text(FACTORY)
    (tmp_path / "grid.yaml").write_text(GRID)
    detector = load_detector(f"{factory}:build", kwargs={"how": how}, input=DETECTOR_INPUT,
                             output={"kind": "score", "higher_is_fake": True}, batch_size=16)  # fmt: skip
    real_exit = os._exit
    config = SweepConfig(detector=detector, data=str(dataset_dir), grid=tmp_path / "grid.yaml", out=tmp_path / "out",
                         quiet=True, report=False, n_bootstrap=20, corrupt_rate="native")  # fmt: skip
    with pytest.raises(SweepAbort, match=rf"detector '{detector.name}' {phrase} while scoring .+ / clean") as info:
        run_sweep(config)
    assert "rows written so far are kept" in str(info.value) and "resume" in str(info.value)
    assert os._exit is real_exit  # the stand-in is gone again
    rows = stored(tmp_path / "out")
    # the first group's two (group, cell) calls finished before the third call exited
    assert len(rows) >= 4 and {cell for _, cell, _ in rows} == {"clean", "gain@5"}
    assert all(error is None for *_, error in rows)
    per_cell = {cell: sum(1 for _, c, _ in rows if c == cell) for cell in ("clean", "gain@5")}
    assert per_cell["clean"] == per_cell["gain@5"] == len(rows) // 2


def test_keyboard_interrupt_is_not_a_detector_failure(tmp_path: Path, dataset_dir: Path) -> None:
    factory = tmp_path / "interrupting.py"
    factory.write_text("import torch\n\ndef build():\n    def forward(x):\n        raise KeyboardInterrupt\n    return forward\n")
    (tmp_path / "grid.yaml").write_text(GRID)
    detector = load_detector(f"{factory}:build", input=DETECTOR_INPUT, output={"kind": "score", "higher_is_fake": True})
    config = SweepConfig(detector=detector, data=str(dataset_dir), grid=tmp_path / "grid.yaml", out=tmp_path / "out",
                         quiet=True, report=False, n_bootstrap=20, corrupt_rate="native")  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        run_sweep(config)
