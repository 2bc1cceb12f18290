"""End-to-end sweeps with the analytic detector on a generated folder dataset.

The detector calls a clip fake when it has little energy above 4 kHz; bona fide
clips are full band, spoof clips band-limited. A harsh low-pass removes the cue
from every clip, so the EER must rise a lot; a gain change leaves the cue (an
energy share) untouched, so the EER must not move.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from sweep_fixtures import load_analytic_detector

from audiostress.runners.sweep import SweepConfig, run_sweep

#: The clean EER on these well-separated clips is 0; harsh low-pass (800 Hz) leaves
#: both classes without energy above 4 kHz, so the detector is at chance or worse.
MIN_EER_RISE_LOW_PASS = 0.3
#: Gain scales numerator and denominator of the energy share alike.
GAIN_EER_TOLERANCE = 1e-12
#: Gaussian noise is scaled to the clip's measured power, so only float32 rounding remains.
NOISE_SNR_TOLERANCE_DB = 0.05
#: A pure gain is exact up to float32 rounding of the samples.
SNR_TOLERANCE_DB = 1e-3

GRID = """
cells:
  - {corruption: low_pass, severity: 5}
  - {corruption: gain, severity: 5}
  - {corruption: gaussian_noise, severity: 3}
"""


def grid_file(tmp_path: Path, text: str = GRID) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    return path


def sweep(tmp_path: Path, data: Path, name: str, **kw) -> object:
    batch = kw.pop("batch_size", 4)
    grid = kw.pop("grid", None) or grid_file(tmp_path)
    cfg = dict(detector=load_analytic_detector(batch), data=str(data), grid=grid, out=tmp_path / name,
               quiet=True, report=False, n_bootstrap=50, batch_size=batch)
    cfg.update(kw)
    return run_sweep(SweepConfig(**cfg))


def cell_metrics(metrics: dict, cell_id: str) -> dict:
    return next(c for c in metrics["cells"] if c["cell_id"] == cell_id)


def test_low_pass_raises_the_eer_and_gain_leaves_it(tmp_path: Path, dataset_dir: Path) -> None:
    result = sweep(tmp_path, dataset_dir, "run")
    m = result.metrics
    clean = m["clean"]["eer"]
    assert clean == 0.0
    assert cell_metrics(m, "low_pass@5")["eer"] - clean >= MIN_EER_RISE_LOW_PASS
    assert abs(cell_metrics(m, "gain@5")["eer"] - clean) <= GAIN_EER_TOLERANCE
    assert result.n_scored == 12 * 4 and result.n_errors == 0 and result.n_skipped == 0
    out = result.out_dir
    assert (out / "results.sqlite").is_file() and (out / "metrics.json").is_file()
    rows = list(csv.DictReader((out / "scores.csv").open()))
    assert len(rows) == 48 and len({(r["clip_id"], r["cell_id"]) for r in rows}) == 48
    clean_rows = [r for r in rows if r["cell_id"] == "clean"]
    assert all(r["corruption"] == "clean" and r["severity"] == "0" for r in clean_rows)
    # measured SNR of gaussian_noise@3 (20 dB) is measured against the clean clip.
    snrs = [float(r["measured_snr_db"]) for r in rows if r["cell_id"] == "gaussian_noise@3"]
    assert all(abs(s - 20.0) < NOISE_SNR_TOLERANCE_DB for s in snrs), snrs
    # Gain at -24 dB: the measured SNR of a pure gain g is -20 log10(|1 - g|).
    gain_snr = float(next(r for r in rows if r["cell_id"] == "gain@5")["measured_snr_db"])
    expected = -20 * math.log10(1 - 10 ** (-24 / 20))
    assert abs(gain_snr - expected) < SNR_TOLERANCE_DB, gain_snr


def test_resuming_a_finished_sweep_recomputes_nothing(tmp_path: Path, dataset_dir: Path) -> None:
    first = sweep(tmp_path, dataset_dir, "run")
    before = (first.out_dir / "scores.csv").read_bytes()
    again = sweep(tmp_path, dataset_dir, "run")
    assert again.n_scored == 0 and again.n_skipped == 48
    assert (again.out_dir / "scores.csv").read_bytes() == before


def test_a_different_seed_in_the_same_out_is_refused(tmp_path: Path, dataset_dir: Path) -> None:
    sweep(tmp_path, dataset_dir, "run")
    with pytest.raises(ValueError, match=r"seed \(0 -> 3\)"):
        sweep(tmp_path, dataset_dir, "run", seed=3)


def test_batch_size_and_workers_do_not_change_a_byte(tmp_path: Path, dataset_dir: Path) -> None:
    grid = grid_file(tmp_path, GRID + "  - {corruption: mp3, severity: 3}\n  - {corruption: opus, severity: 2}\n")
    outs = []
    for name, batch, workers in (("b1w1", 1, 1), ("b7w2", 7, 2), ("b3w0", 3, 0)):
        res = sweep(tmp_path, dataset_dir, name, batch_size=batch, workers=workers, grid=grid)
        assert res.n_errors == 0
        outs.append((res.out_dir / "scores.csv").read_bytes())
    assert outs[0] == outs[1] == outs[2]


def test_metrics_json_has_the_design_schema(tmp_path: Path, dataset_dir: Path) -> None:
    result = sweep(tmp_path, dataset_dir, "run")
    data = json.loads((result.out_dir / "metrics.json").read_text())
    assert data["schema"] == 1
    for key in ("audiostress", "seed", "detector", "dataset", "grid", "torch", "codecs", "machine", "created"):
        assert key in data["provenance"], key
    assert [c["cell_id"] for c in data["cells"]][-3:] == ["low_pass@5", "gain@5", "gaussian_noise@3"]


def test_reference_metrics_give_corruption_errors(tmp_path: Path, dataset_dir: Path) -> None:
    first = sweep(tmp_path, dataset_dir, "ref")
    second = sweep(tmp_path, dataset_dir, "cmp", reference=first.out_dir / "metrics.json")
    ce = second.metrics["corruption_errors"]
    assert first.metrics["corruption_errors"] is None
    # The same detector on the same clips: every defined CE against itself is exactly 1.
    assert ce["low_pass"]["ce"] == 1.0
    assert second.metrics["corruption_error_reference"] is not None


def test_a_missing_reference_file_is_a_clear_error(tmp_path: Path, dataset_dir: Path) -> None:
    with pytest.raises(ValueError, match="--reference .*nope.json: file not found"):
        sweep(tmp_path, dataset_dir, "x", reference=tmp_path / "nope.json")
