"""Grid presets, YAML parsing, cell ids and the errors a bad grid gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from audiostress.corruptions import available
from audiostress.runners.grid import PRESETS, cell_id_for, cells_for_metrics, load_grid, make_cell, preset_text


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    return path


def test_yaml_grid_expands_severities_and_adds_clean_first(tmp_path: Path) -> None:
    grid = load_grid(write(tmp_path, """
cells:
  - {corruption: gain, severities: [1, 3, 5]}
  - {corruption: gaussian_noise, severity: 2}
  - {corruption: gaussian_noise, params: {snr_db: 12.5}}
  - {corruption: gain, severity: 4, params: {gain_db: -30}}
"""))
    assert [c.cell_id for c in grid.cells] == [
        "clean", "gain@1", "gain@3", "gain@5", "gaussian_noise@2", "gaussian_noise{snr_db=12.5}", "gain@4{gain_db=-30}",
    ]
    assert grid.name == "grid"
    assert grid.cell("gain@3").node.to_dict()["params"] == {"gain_db": -6.0}
    assert grid.cell("gaussian_noise{snr_db=12.5}").severity is None  # explicit parameters: no severity
    assert grid.cell("gain@4{gain_db=-30}").node.to_dict()["params"] == {"gain_db": -30.0}
    assert grid.cells[0].corruption == "clean" and grid.cells[0].severity == 0


def test_entry_without_severity_or_params_takes_all_five_levels(tmp_path: Path) -> None:
    grid = load_grid(write(tmp_path, "cells:\n  - {corruption: gain}\n"))
    assert [c.cell_id for c in grid.cells] == ["clean"] + [f"gain@{s}" for s in range(1, 6)]


def test_cell_ids_are_stable_and_readable() -> None:
    assert cell_id_for("mp3", 3, {}, None) == "mp3@3"
    assert cell_id_for("mp3", None, {"bitrate_kbps": 24}, None) == "mp3{bitrate_kbps=24}"
    assert cell_id_for("mp3", None, {"bitrate_kbps": 24.0}, None) == "mp3{bitrate_kbps=24}"
    assert cell_id_for("opus", 2, {}, "asvspoof5_nb") == "opus[asvspoof5_nb]@2"
    assert cell_id_for("x", None, {"b": True, "a": 0.5}, None) == "x{a=0.5,b=true}"
    # The main table's own name is dropped from the id.
    assert make_cell("gain", 2, table="audiostress").cell_id == "gain@2"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("cells:\n  - {corruption: gian, severity: 3}\n", "Did you mean gain"),
        ("cells:\n  - {corruption: gain, severity: 0}\n", "0 is the clean cell"),
        ("cells:\n  - {corruption: gain, severity: 6}\n", "expected severity in 1..5 for gain, got 6"),
        ("cells:\n  - {corruption: gain, sevrity: 3}\n", "unknown key 'sevrity'"),
        ("cells:\n  - {corruption: gain, params: {gain_db: 99}}\n", "Expected `gain_db` in -60..40 for gain, got 99"),
        ("cells:\n  - {corruption: gain, params: {loudness: 1}}\n", "Unknown parameter 'loudness' for gain"),
        ("cells:\n  - {corruption: gain, severity: 2}\n  - {corruption: gain, severities: [2]}\n", "duplicate cell 'gain@2'"),
        ("cells:\n  - {corruption: gain, severity: 2}\ncodec_pair: [clean, mp3@1]\n", "codec_pair cell 'mp3@1' is not in the grid"),
        ("cell:\n  - {corruption: gain}\n", "with a `cells` list"),
        ("cells: [\n", "not valid YAML"),
    ],
)
def test_bad_grid_files_name_the_problem(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        load_grid(write(tmp_path, text))
    assert needle in str(info.value)


def test_unknown_preset_lists_the_choices() -> None:
    with pytest.raises(ValueError) as info:
        load_grid("quik")
    for name in PRESETS:
        assert name in str(info.value)


def test_optional_entry_is_left_out_with_a_note(tmp_path: Path) -> None:
    grid = load_grid(write(tmp_path, "cells:\n  - {corruption: gain, params: {gain_db: 99}, optional: true}\n  - {corruption: gain, severity: 1}\n"))
    assert [c.cell_id for c in grid.cells] == ["clean", "gain@1"]
    assert len(grid.notes) == 1 and "gain left out" in grid.notes[0] and "gain_db" in grid.notes[0]


@pytest.mark.parametrize("name", [p for p in PRESETS if p != "full"])
def test_shipped_presets_are_valid_yaml_grids_that_build(name: str) -> None:
    data = yaml.safe_load(preset_text(name))
    assert isinstance(data["cells"], list) and data["cells"]
    grid = load_grid(name)
    assert grid.cells[0].cell_id == "clean" and len(grid.cells) > 3


def test_preset_contents() -> None:
    codecs = load_grid("codecs")
    assert codecs.codec_pair == ["clean", "mp3{bitrate_kbps=128}", "aac{bitrate_kbps=128}", "opus{bitrate_kbps=128}"]
    assert [c.node.to_dict()["params"]["bitrate_kbps"] for c in codecs.cells[1:]] == [128, 128, 128]
    asv = load_grid("asvspoof5")
    ids = {c.cell_id for c in asv.cells}
    assert {"opus[asvspoof5_wb]@1", "opus[asvspoof5_nb]@5", "mp3[asvspoof5]@3", "aac[asvspoof5]@2", "amr_nb[asvspoof5]@4",
            "mp3_then_encodec@2", "encodec_24k@1"} <= ids
    assert any("C02" in n for n in asv.notes) and any("C03" in n and "C10" in n for n in asv.notes)
    paper = {c.corruption for c in load_grid("paper").cells}
    assert {"gaussian_noise", "smooth", "echo", "high_pass", "low_pass", "pitch_shift", "time_stretch", "quantization",
            "mp3", "opus", "encodec_24k"} <= paper
    quick = load_grid("quick")
    assert {c.family for c in quick.cells} >= {"noise", "filter", "codec"} and "encodec_24k" not in {c.corruption for c in quick.cells}


def left_out(grid: object) -> set[str]:
    """The corruptions a grid's notes say were left out."""
    return {n.split(" left out")[0].split("@")[0] for n in grid.notes if " left out" in n}


def test_paper_leaves_out_background_noise_without_a_noise_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDIOSTRESS_NOISE_DIR", raising=False)
    grid = load_grid("paper")
    assert "background_noise" not in {c.corruption for c in grid.cells}
    assert any(n.startswith("background_noise left out") and "noise_dir" in n for n in grid.notes)
    assert left_out(grid) == {"background_noise"}


def test_paper_keeps_background_noise_with_a_noise_folder(monkeypatch: pytest.MonkeyPatch, generated_noise_dir: Path) -> None:
    monkeypatch.setenv("AUDIOSTRESS_NOISE_DIR", str(generated_noise_dir))
    grid = load_grid("paper")
    assert "background_noise" in {c.corruption for c in grid.cells}
    assert left_out(grid) == set()


def test_full_grid_covers_every_registered_corruption_at_every_level() -> None:
    grid = load_grid("full")
    names = {c.corruption for c in grid.cells}
    built = {n for n in available() if n != "clean"} - {note.split("@")[0] for note in grid.notes}
    assert built <= names
    assert sum(1 for c in grid.cells if c.corruption == "gain") == 5
    assert grid.cells[0].cell_id == "clean"


def test_cells_for_metrics_carry_the_effective_parameters(tmp_path: Path) -> None:
    grid = load_grid(write(tmp_path, "cells:\n  - {corruption: gain, severity: 5}\n"))
    cells = cells_for_metrics([c.to_dict() for c in grid.cells])
    assert cells[1] == {
        "cell_id": "gain@5", "corruption": "gain", "severity": 5, "params": {"gain_db": -24.0}, "family": "modification",
        "table": "audiostress", "series": "gain", "axis": {"param": "gain_db", "unit": "dB", "value": -24.0},
    }
    assert cells[0] == {
        "cell_id": "clean", "corruption": "clean", "severity": 0, "params": {}, "family": "clean",
        "table": None, "series": "clean", "axis": {"param": None, "unit": None, "value": None},
    }


def test_cells_for_metrics_accept_cells_stored_before_series_and_axis() -> None:
    stored = {k: v for k, v in make_cell("mp3", 3).to_dict().items() if k not in ("table", "series", "axis")}
    (cell,) = cells_for_metrics([stored])
    assert (cell["table"], cell["series"], cell["axis"]) == (None, "mp3@3", {"param": None, "unit": None, "value": None})


@pytest.mark.parametrize(
    ("name", "severity", "params", "table", "expected"),
    [
        # (severity, table, series, axis, family)
        ("mp3", 3, {}, None, (3, "li2025", "mp3", ("bitrate_kbps", "kbps", 24.0), "codec")),
        ("opus", 2, {}, "asvspoof5_nb", (2, "asvspoof5_nb", "opus[asvspoof5_nb]", ("bitrate_kbps", "kbps", 16.0), "codec")),
        # packet_loss's table fixes frame_ms and varies loss_rate: the axis is loss_rate
        ("packet_loss", 4, {}, None, (4, "audiostress", "packet_loss", ("loss_rate", "fraction", 0.1), "modification")),
        # explicit parameters: no severity, no table, a series of its own, the given parameter as the axis
        ("mp3", None, {"bitrate_kbps": 128}, None, (None, None, "mp3{bitrate_kbps=128}", ("bitrate_kbps", "kbps", 128.0), "codec")),
        ("packet_loss", None, {"frame_ms": 10}, None, (None, None, "packet_loss{frame_ms=10}", ("frame_ms", "ms", 10.0), "modification")),
        # a severity with overrides keeps its table's axis but is not a point of the table's curve
        ("gain", 4, {"gain_db": -30}, None, (4, "audiostress", "gain@4{gain_db=-30}", ("gain_db", "dB", -30.0), "modification")),
        ("packet_loss", 4, {"frame_ms": 10}, None, (4, "audiostress", "packet_loss@4{frame_ms=10}", ("loss_rate", "fraction", 0.1), "modification")),
        # cascades: the first stage's varying parameter; the family from the stages
        ("mp3_then_encodec", 2, {}, None, (2, None, "mp3_then_encodec", ("mp3.bitrate_kbps", "kbps", 192.0), "neural_codec")),
        ("mp3_then_aac", 5, {}, None, (5, None, "mp3_then_aac", ("mp3.bitrate_kbps", "kbps", 8.0), "codec")),
    ],
)
def test_cells_carry_series_axis_table_and_family(name, severity, params, table, expected) -> None:
    cell = make_cell(name, severity, params, table)
    assert (cell.severity, cell.table, cell.series, (cell.axis.param, cell.axis.unit, cell.axis.value), cell.family) == expected
    data = cell.to_dict()
    assert data["series"] == cell.series and data["axis"] == {"param": expected[3][0], "unit": expected[3][1], "value": expected[3][2]}


# -- grid-wide parameter overrides (sweep --param K=V) ----------------------------------


def _noise_folder(tmp_path: Path) -> Path:
    import torch

    from audiostress.audio import save

    folder = tmp_path / "noise"
    save(folder / "hum.wav", 0.1 * torch.sin(torch.arange(8000) / 8.0).unsqueeze(0), 16000)
    return folder


def test_paper_noise_dir_param_adds_background_noise_with_stable_ids(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("AUDIOSTRESS_NOISE_DIR", raising=False)
    plain = load_grid("paper")
    assert not [c for c in plain.cells if c.corruption == "background_noise"]
    assert any("background_noise left out" in n for n in plain.notes)
    folder = _noise_folder(tmp_path)
    grid = load_grid("paper", params={"noise_dir": str(folder)})
    noise = [c for c in grid.cells if c.corruption == "background_noise"]
    assert [c.cell_id for c in noise] == [f"background_noise@{s}" for s in range(1, 6)]
    assert {c.series for c in noise} == {"background_noise"} and [c.severity for c in noise] == [1, 2, 3, 4, 5]
    assert all(c.node.to_dict()["params"]["noise_dir"] == str(folder) for c in noise)
    assert all(c.params == {} for c in noise)  # a setting of the sweep, not a cell parameter
    # every other cell is untouched, so the grid identity differs only by the new cells
    others = {c.cell_id: c.to_dict() for c in grid.cells if c.corruption != "background_noise"}
    assert others == {c.cell_id: c.to_dict() for c in plain.cells}
    assert not any("background_noise left out" in n for n in grid.notes)


def test_an_override_reaches_every_declaring_cell_and_cascade_stage(tmp_path: Path) -> None:
    path = write(tmp_path, """
cells:
  - {corruption: mp3, severities: [1, 2]}
  - {corruption: mp3_then_encodec, severity: 2}
  - {corruption: gain, severity: 1}
""")
    grid = load_grid(path, params={"weights_path": "/models/encodec_24khz.th", "backend": "pyav"})
    assert [c.cell_id for c in grid.cells] == ["clean", "mp3@1", "mp3@2", "mp3_then_encodec@2", "gain@1"]
    stages = grid.cell("mp3_then_encodec@2").node.to_dict()["nodes"]
    assert [s["name"] for s in stages] == ["mp3", "encodec_24k"]
    assert stages[1]["params"]["weights_path"] == "/models/encodec_24khz.th"
    assert "weights_path" not in stages[0]["params"]
    assert grid.cell("mp3@1").node.to_dict()["params"]["backend"] == "pyav"
    # the cascade's stages keep their own tables: the mp3 stage is the asvspoof5 table's level 2
    untouched = load_grid(path).cell("mp3_then_encodec@2").node.to_dict()["nodes"]
    assert stages[0] == untouched[0] and stages[1]["params"]["bandwidth_kbps"] == untouched[1]["params"]["bandwidth_kbps"]
    # an already built grid takes overrides too
    rebuilt = load_grid(load_grid(path), params={"weights_path": "/models/encodec_24khz.th"})
    assert rebuilt.cell("mp3_then_encodec@2").node.to_dict() == grid.cell("mp3_then_encodec@2").node.to_dict()


def test_an_unknown_param_names_the_key_and_the_grids_corruptions() -> None:
    with pytest.raises(ValueError) as info:
        load_grid("quick", params={"nosie_dir": "/x"})
    text = str(info.value)
    assert "nosie_dir" in text
    for name in ("gaussian_noise", "low_pass", "mp3", "opus", "packet_loss", "pitch_shift"):
        assert name in text
    with pytest.raises(ValueError, match="noise_dir"):
        load_grid("quick", params={"noise_dir": "/x"})  # quick has no background_noise


def test_an_override_of_what_the_severity_varies_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"snr_db: its severity table varies.*gaussian_noise"):
        load_grid("quick", params={"snr_db": 5})
    path = write(tmp_path, "cells:\n  - {corruption: low_pass, params: {cutoff_hz: 1000, zero_phase: true}}\n")
    with pytest.raises(ValueError, match="zero_phase: the cell sets it in its params"):
        load_grid(path, params={"zero_phase": False})
    # a parameter the table does not vary is fine, and it is in the node (so in the sweep identity)
    grid = load_grid("quick", params={"zero_phase": False})
    assert [c.cell_id for c in grid.cells] == [c.cell_id for c in load_grid("quick").cells]
    assert grid.cell("low_pass@2").node.to_dict()["params"]["zero_phase"] is False
    assert grid.to_dict() != load_grid("quick").to_dict()


def test_the_paper_preset_note_describes_the_sweep_param() -> None:
    text = preset_text("paper")
    assert "--param noise_dir=" in text and "audiostress sweep" in text and "AUDIOSTRESS_NOISE_DIR" in text
