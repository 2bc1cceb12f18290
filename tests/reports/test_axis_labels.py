"""Severity-axis labels name the parameter the severity table varies, with its unit."""

from __future__ import annotations

from audiostress.corruptions import create
from audiostress.reports.tables import Series, severity_axis


def _series(corruption: str, severities: list[int]) -> Series:
    cells = {s: {"params": create(corruption, severity=s).to_dict()["params"], "severity": s} for s in severities}
    return Series(corruption, corruption, "x", severities, {0: cells})


def test_single_cell_uses_the_parameter_its_table_varies():
    # packet_loss also has frame_ms (fixed at 20 ms); the label must be the loss rate.
    axis = severity_axis(_series("packet_loss", [4]))
    assert axis.label.startswith("loss rate")
    assert axis.title_suffix.endswith("(severity 4)")


def test_several_cells_show_values_mildest_to_harshest():
    axis = severity_axis(_series("mp3", [1, 3, 5]))
    assert axis.label == "bitrate (kbps)"
    assert axis.ticks == {1: "40", 3: "24", 5: "8"}
    assert axis.title_suffix == "bitrate (kbps): 40 → 8"
