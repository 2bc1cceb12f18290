"""Issue 10, 1a: one setting means one thing. Corruptions run at a declared rate (the detector's by default).

``low_pass@3`` cuts at 0.3 of Nyquist of the rate it runs at: 2.4 kHz at 16 kHz,
7.2 kHz at 48 kHz. The same white noise stored at 48 kHz and at 16 kHz must come
out of the sweep with the same cutoff in Hz when both are corrupted at 16 kHz.
The detector here reports where the spectrum falls off (in Hz) as its score, so
``raw_score`` in scores.csv is the measured cutoff of the audio it was given.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from sweep_fixtures import load_analytic_detector, write_dataset

import audiostress as ast
from audiostress.audio import resample
from audiostress.detectors import load_detector
from audiostress.runners.sweep import SweepConfig, resolve_corrupt_rate, run_sweep

DETECTOR_RATE = 16000
#: Spectrum bands the cutoff is measured in (Hz); two measurements within one band agree.
BAND_HZ = 100.0
#: Where the smoothed spectrum is this far below the pass band counts as the cutoff.
FALL_DB = 10.0
#: low_pass@3 at 16 kHz: 0.3 x 8 kHz.
CUTOFF_16K_HZ = 2400.0
#: The zero-phase Butterworth's -10 dB point sits a little above its -6 dB cutoff.
CUTOFF_SLACK_HZ = 400.0
P_FAKE_TOLERANCE = 1e-5


def falloff_hz(x: torch.Tensor) -> torch.Tensor:
    """Per row of ``[B, T]`` 16 kHz audio: the first frequency above 1.5 kHz whose band power is FALL_DB below 0.2-1.5 kHz."""
    out = []
    for row in x.to(torch.float64):
        power = torch.fft.rfft(row).abs().pow(2)
        freqs = torch.fft.rfftfreq(row.numel(), 1.0 / DETECTOR_RATE)
        edges = torch.arange(0.0, DETECTOR_RATE / 2 + BAND_HZ, BAND_HZ)
        bands = torch.stack([power[(freqs >= lo) & (freqs < lo + BAND_HZ)].mean() for lo in edges[:-1]])
        centres = edges[:-1] + BAND_HZ / 2
        ref = bands[(centres > 200) & (centres < 1500)].mean()
        below = (centres > 1500) & (bands < ref * 10 ** (-FALL_DB / 10))
        out.append(centres[below][0] if bool(below.any()) else torch.tensor(DETECTOR_RATE / 2.0))
    return torch.stack(out)


def cutoff_detector():
    return load_detector(falloff_hz, input={"sample_rate": DETECTOR_RATE}, output={"kind": "score", "higher_is_fake": True})


@pytest.fixture(scope="module")
def two_rates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One white-noise clip stored at 48 kHz (bonafide) and its 16 kHz copy (spoof)."""
    root = tmp_path_factory.mktemp("rates") / "data"
    noise = torch.from_numpy(np.random.default_rng(3).standard_normal((1, 48000)).astype(np.float32) * 0.1)
    for label, audio, rate in (("bonafide", noise, 48000), ("spoof", resample(noise, 48000, 16000), 16000)):
        (root / label).mkdir(parents=True)
        sf.write(str(root / label / f"noise_{rate}.wav"), audio.numpy().T, rate, subtype="FLOAT")
    return root


def raw_scores(out: Path, cell_id: str) -> dict[str, float]:
    with (out / "scores.csv").open() as f:
        return {r["clip_id"]: float(r["raw_score"]) for r in csv.DictReader(f) if r["cell_id"] == cell_id}


def sweep(tmp_path: Path, data: Path, name: str, corrupt_rate, detector=None, grid: str = "cells:\n  - {corruption: low_pass, severity: 3}\n"):
    (tmp_path / f"{name}.yaml").write_text(grid)
    return run_sweep(SweepConfig(detector=detector or cutoff_detector(), data=str(data), grid=tmp_path / f"{name}.yaml",
                                 out=tmp_path / name, quiet=True, report=False, n_bootstrap=0, corrupt_rate=corrupt_rate))


def test_the_same_clip_at_48k_and_16k_gets_the_same_cutoff_at_a_declared_rate(tmp_path: Path, two_rates: Path) -> None:
    res = sweep(tmp_path, two_rates, "at16k", 16000)
    cut = raw_scores(res.out_dir, "low_pass@3")
    a, b = cut["bonafide/noise_48000"], cut["spoof/noise_16000"]
    assert abs(a - b) <= BAND_HZ, cut
    assert CUTOFF_16K_HZ <= a <= CUTOFF_16K_HZ + CUTOFF_SLACK_HZ, cut
    clean = raw_scores(res.out_dir, "clean")
    assert min(clean.values()) > 7000  # unfiltered: the spectrum only falls at the resampler's edge
    assert res.metrics["provenance"]["corrupt_rate"] == 16000


def test_the_default_is_the_detectors_rate_and_native_differs(tmp_path: Path, two_rates: Path) -> None:
    default = raw_scores(sweep(tmp_path, two_rates, "default", "detector").out_dir, "low_pass@3")
    assert abs(default["bonafide/noise_48000"] - default["spoof/noise_16000"]) <= BAND_HZ
    native = sweep(tmp_path, two_rates, "native", "native")
    cut = raw_scores(native.out_dir, "low_pass@3")
    assert cut["bonafide/noise_48000"] > 7000 > CUTOFF_16K_HZ + CUTOFF_SLACK_HZ >= cut["spoof/noise_16000"]  # 7.2 vs 2.4 kHz
    assert native.metrics["provenance"]["corrupt_rate"] == "native"


def test_the_rate_is_part_of_the_sweep_identity(tmp_path: Path, two_rates: Path) -> None:
    sweep(tmp_path, two_rates, "same", 16000)
    with pytest.raises(ValueError, match="corrupt_rate"):
        sweep(tmp_path, two_rates, "same", 22050)


def test_corrupt_rate_values() -> None:
    det = cutoff_detector()
    assert [resolve_corrupt_rate(v, det) for v in ("detector", "native", 44100, "8000")] == [16000, None, 44100, 8000]
    for bad in ("fast", 0, -1, True, 16000.5):
        with pytest.raises(ValueError, match="--corrupt-rate native, detector or a rate in Hz"):
            resolve_corrupt_rate(bad, det)


def test_replay_at_a_non_native_corrupt_rate_matches_p_fake(tmp_path: Path) -> None:
    """48 kHz files, a 16 kHz detector: the sweep corrupts at 16 kHz and replay rebuilds that audio."""
    root = write_dataset(tmp_path / "data48", n_per_class=2)
    for wav in root.rglob("*.wav"):
        audio, sr = sf.read(str(wav), dtype="float32", always_2d=True)
        up = resample(torch.from_numpy(audio.T.copy()), sr, 48000)
        sf.write(str(wav), up.numpy().T, 48000, subtype="FLOAT")
    grid = "cells:\n  - {corruption: low_pass, severity: 3}\n  - {corruption: gaussian_noise, severity: 3}\n  - {corruption: mp3, severity: 2}\n"
    res = sweep(tmp_path, root, "replay", "detector", detector=load_analytic_detector(4), grid=grid)
    with (res.out_dir / "scores.csv").open() as f:
        stored = {(r["clip_id"], r["cell_id"]): float(r["p_fake"]) for r in csv.DictReader(f)}
    detector = load_analytic_detector(4)
    for (clip_id, cell_id), p_stored in stored.items():
        audio, sr = ast.load_results(res.out_dir).replay(clip_id, cell_id)
        assert sr == 16000  # the corrupt rate, not the files' 48 kHz
        p = float(detector.score([torch.from_numpy(audio)], sr, clip_ids=[clip_id]).p_fake[0])
        assert abs(p - p_stored) <= P_FAKE_TOLERANCE, (clip_id, cell_id)
    provenance = json.loads((res.out_dir / "metrics.json").read_text())["provenance"]
    assert provenance["corrupt_rate"] == 16000
    assert provenance["detector_input"] == {"sample_rate": 16000, "length": 8000, "pad": "zero", "crop": "first",
                                            "hop": None, "windows_per_clip": {"min": 1, "median": 1.0, "max": 1}}  # fmt: skip
