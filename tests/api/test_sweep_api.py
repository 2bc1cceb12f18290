"""``audiostress.sweep`` / ``load_results`` / ``SweepResult``: typed results, frames, the identity-keyed cache dir."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sweep_fixtures import DETECTOR_INPUT, DETECTOR_OUTPUT, DETECTOR_SPEC

import audiostress as ast

N_CLIPS = 12  # write_dataset's default: 6 per class
N_CELLS = 5  # clean + the four cells of conftest.GRID


def run(dataset_dir: Path, grid_path: Path, **kw: object) -> ast.SweepResult:
    return ast.sweep(DETECTOR_SPEC, dataset_dir, grid_path, input=dict(DETECTOR_INPUT), output=dict(DETECTOR_OUTPUT),
                     report=False, n_bootstrap=20, **kw)  # fmt: skip


def test_import_is_light_and_every_public_name_resolves() -> None:
    code = (
        "import sys, audiostress as a\n"
        "assert 'torch' not in sys.modules, 'import audiostress pulled in torch'\n"
        "assert 'pandas' not in sys.modules and 'numpy' not in sys.modules\n"
        "missing = [n for n in a.__all__ if getattr(a, n, None) is None]\n"
        "print(len(a.__all__), missing)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1:] == ["[]"] and int(out[0]) >= 15


def test_cli_help_does_not_load_torch() -> None:
    code = "import sys\nfrom audiostress.cli import main\nassert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))[:3]\n"
    subprocess.run([sys.executable, "-c", code], check=True)
    help_text = subprocess.run([sys.executable, "-m", "audiostress.cli", "--help"], capture_output=True, text=True, check=True).stdout
    assert all(cmd in help_text for cmd in ("sweep", "replay", "check", "baseline", "cache", "merge", "report", "demo"))


def test_sweep_frames_have_clips_times_cells_rows_and_match_load_results(tmp_path: Path, dataset_dir: Path, grid_path: Path) -> None:
    res = run(dataset_dir, grid_path, out=tmp_path / "run")
    scores = res.to_pandas()
    assert len(scores) == N_CLIPS * N_CELLS
    assert list(scores.columns[:10]) == ["clip_id", "label", "attack", "cell_id", "corruption", "severity",
                                         "raw_score", "p_fake", "measured_snr_db", "error"]  # fmt: skip
    assert set(scores["cell_id"]) == {"clean", "gaussian_noise@3", "low_pass@4", "mp3@3", "gain{gain_db=-6}"}
    # an explicit-parameter cell has no severity; the clean cell has 0
    assert scores.loc[scores["cell_id"] == "gain{gain_db=-6}", "severity"].isna().all()
    assert (scores.loc[scores["cell_id"] == "clean", "severity"] == 0).all()
    # the frame holds exactly what scores.csv holds (floats round-trip through repr)
    with (tmp_path / "run" / "scores.csv").open() as f:
        first = next(csv.DictReader(f))
    row = scores.iloc[0]
    assert (row["clip_id"], row["cell_id"], repr(float(row["p_fake"]))) == (first["clip_id"], first["cell_id"], first["p_fake"])
    again = ast.load_results(tmp_path / "run")
    pd.testing.assert_frame_equal(scores, again.to_pandas())
    pd.testing.assert_frame_equal(res.to_pandas("cells"), again.to_pandas("cells"))
    assert res.run is not None and res.run.n_scored == N_CLIPS * N_CELLS and again.run is None
    # latency comes from the detector time and audio seconds every scored row records
    assert res.metrics["latency"]["ms_per_audio_s"] > 0
    assert all(c["latency_ms_per_audio_s"] > 0 for c in res.metrics["cells"])
    assert res.metrics["clean"]["latency_ms_per_audio_s"] > 0


def test_typed_cells_carry_the_metrics_json_values(tmp_path: Path, dataset_dir: Path, grid_path: Path) -> None:
    res = run(dataset_dir, grid_path, out=tmp_path / "run")
    cells = res.to_pandas("cells")
    assert list(cells["cell_id"]) == ["clean", "gaussian_noise@3", "low_pass@4", "mp3@3", "gain{gain_db=-6}"]
    for cell in res.cells:
        block = next(c for c in res.metrics["cells"] if c["cell_id"] == cell.cell_id)
        assert cell.eer == block["eer"] and cell.delta_eer == block["delta_eer"] and cell.n == block["n"]
        assert cell.eer_ci95 == (tuple(block["eer_ci95"]) if block["eer_ci95"] else None)
        assert cell["flip_rate"] == block["flip_rate"]
        row = cells.loc[cells["cell_id"] == cell.cell_id].iloc[0]
        assert row["eer"] == block["eer"]
    assert res.cell("low_pass@4").severity == 4 and res.cell("gain{gain_db=-6}").severity is None
    assert res.clean.n == N_CLIPS and res.clean.eer == res.metrics["clean"]["eer"]
    with pytest.raises(KeyError, match="mp3@3"):
        res.cell("mp3@9")
    assert res.errors == []


def test_out_none_keys_the_directory_by_identity_and_returns_at_once(tmp_path: Path, dataset_dir: Path, grid_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("AUDIOSTRESS_CACHE", str(tmp_path / "cache"))
    first = run(dataset_dir, grid_path)
    assert first.out_dir.parent == tmp_path / "cache" / "sweeps" and first.run is not None
    store = first.out_dir / "results.sqlite"
    runs = sqlite3.connect(store).execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    second = run(dataset_dir, grid_path)
    assert second.out_dir == first.out_dir and second.run is None  # nothing ran
    assert sqlite3.connect(store).execute("SELECT COUNT(*) FROM runs").fetchone()[0] == runs
    pd.testing.assert_frame_equal(first.to_pandas(), second.to_pandas())
    other_seed = run(dataset_dir, grid_path, seed=1)
    assert other_seed.out_dir != first.out_dir


def test_unknown_option_is_a_type_error_naming_it(dataset_dir: Path, grid_path: Path) -> None:
    with pytest.raises(TypeError, match="'batchsize'.*allowed"):
        ast.sweep(DETECTOR_SPEC, dataset_dir, grid_path, batchsize=4)


@pytest.mark.parametrize("workers", ["2", None, 2.0, -1])
def test_a_malformed_worker_count_is_named(tmp_path: Path, dataset_dir: Path, grid_path: Path, workers: object) -> None:
    with pytest.raises(ValueError, match=f"Expected --workers >= 0, got {workers!r}"):
        ast.sweep(DETECTOR_SPEC, dataset_dir, grid_path, out=tmp_path / "x", workers=workers)  # type: ignore[arg-type]
    assert not (tmp_path / "x").exists()


def test_repr_html_escapes_the_detector_name(tmp_path: Path, dataset_dir: Path, grid_path: Path) -> None:
    res = run(dataset_dir, grid_path, out=tmp_path / "run", name="<script>alert(1)</script>")
    page = res._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("<tr>") == 1 + len(res.cells)  # header + one row per cell
    assert "gain{gain_db=-6}" in page


def test_load_results_errors_name_the_missing_piece(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a sweep directory"):
        ast.load_results(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no metrics.json"):
        ast.load_results(tmp_path / "empty")


# -- issue 10: the sweep front's options through the public API ---------------------------------


def test_api_options_corrupt_rate_params_and_max_errors(tmp_path: Path, dataset_dir: Path, grid_path: Path) -> None:
    import numpy as np
    import soundfile as sf
    from sweep_fixtures import write_dataset

    from audiostress.runners.preflight import PreflightError
    from audiostress.runners.sweep import TooManyErrorsError

    res = run(dataset_dir, grid_path, out=tmp_path / "native", corrupt_rate="native")
    assert res.provenance["corrupt_rate"] == "native"
    # The identity holds the rate: the same call at the detector's rate is another sweep directory.
    cached = run(dataset_dir, grid_path, corrupt_rate=16000)
    assert cached.provenance["corrupt_rate"] == 16000 and cached.out_dir != res.out_dir
    with pytest.raises(PreflightError, match="fake_index: 5"):
        ast.sweep(lambda x: x.new_zeros(x.shape[0], 2), dataset_dir, grid_path, out=tmp_path / "bad",
                  input={"length": 8000}, output={"fake_index": 5}, report=False)  # fmt: skip
    assert not (tmp_path / "bad" / "scores.csv").exists()

    data = write_dataset(tmp_path / "data", n_per_class=2)
    for i in range(2):
        sf.write(str(data / "spoof" / f"zz_short_{i}.wav"), np.full(3000, 0.1, np.float32), 16000)

    def picky(x):
        if x.shape[-1] == 3000:
            raise RuntimeError("too short")
        return x.pow(2).mean(dim=1)

    noise = {"kind": "score", "higher_is_fake": True}
    (tmp_path / "g.yaml").write_text("cells:\n  - {corruption: low_pass, severity: 3}\n")
    ok = ast.sweep(picky, data, tmp_path / "g.yaml", out=tmp_path / "some", output=noise, report=False,
                   params={"order": 2}, max_errors=4)  # fmt: skip
    assert ok.coverage["pairs_failed"] == 4
    with sqlite3.connect(tmp_path / "some" / "results.sqlite") as conn:
        node = conn.execute("SELECT node FROM cells WHERE cell_id = 'low_pass@3'").fetchone()[0]
    assert json.loads(node)["params"]["order"] == 2  # the --param override reached the grid
    with pytest.raises(TooManyErrorsError, match="4 of 12 pairs failed .more than --max-errors 3.") as info:
        ast.sweep(picky, data, tmp_path / "g.yaml", out=tmp_path / "strict", output=noise, report=False, max_errors=3)
    assert info.value.run.failed == 4 and (tmp_path / "strict" / "scores.csv").is_file()  # the work is kept
