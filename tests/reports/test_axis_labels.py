"""Severity-axis labels name the parameter the severity table varies, with its unit, from each cell's ``axis``."""

from __future__ import annotations

from audiostress.reports.tables import Series, param_label, severity_axis
from audiostress.runners.grid import cells_for_metrics, make_cell


def _series(corruption: str, severities: list[int], *, legacy: bool = False) -> Series:
    """A series of grid cells as metrics.json carries them (``legacy``: without ``axis``)."""
    cells = cells_for_metrics([make_cell(corruption, s).to_dict() for s in severities])
    if legacy:
        cells = [{k: v for k, v in c.items() if k != "axis"} for c in cells]
    return Series(corruption, corruption, "x", severities, {0: dict(zip(severities, cells))})


def test_single_cell_uses_the_parameter_its_table_varies():
    # packet_loss also has frame_ms (fixed at 20 ms); the label must be the loss rate, in the registry's unit.
    axis = severity_axis(_series("packet_loss", [4]))
    assert axis.label == "loss rate (fraction)"
    assert axis.title_suffix == "loss rate (fraction): 0.1 (severity 4)"


def test_several_cells_show_values_mildest_to_harshest():
    axis = severity_axis(_series("mp3", [1, 3, 5]))
    assert axis.label == "bitrate (kbps)"
    assert axis.ticks == {1: "40", 3: "24", 5: "8"}
    assert axis.title_suffix == "bitrate (kbps): 40 → 8"


def test_cascade_axis_names_the_stage_whose_parameter_varies():
    axis = severity_axis(_series("mp3_then_aac", [1, 5]))  # aac's cascade table holds 96 kbps at every level
    assert axis.label == "mp3 bitrate (kbps)"
    assert axis.ticks == {1: "40", 5: "8"}


def test_other_varying_parameters_are_counted():
    axis = severity_axis(_series("band_pass", [1, 5]))  # the telephone table narrows both edges
    assert axis.label == "low (Hz) (+1 more)"


def test_cells_without_an_axis_fall_back_to_their_params():
    axis = severity_axis(_series("mp3", [1, 3, 5], legacy=True))
    assert axis.label == "bitrate (kbps)" and axis.ticks == {1: "40", 3: "24", 5: "8"}


def test_param_label_keeps_the_unit_once():
    assert param_label("snr_db", "dB") == "snr (dB)"
    assert param_label("cutoff_fraction", "") == "cutoff fraction"
    assert param_label("rt60_s") == "rt60 (s)"  # unit guessed from the suffix
    assert param_label("semitones", "semitones") == "semitones"
