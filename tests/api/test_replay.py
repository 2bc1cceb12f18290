"""Replay: the audio written for a (clip, cell) pair is what the detector scored.

Scoring the replayed WAV with the sweep's detector must give back the p_fake of
scores.csv. Codec cells run per clip in the sweep, as in replay, so their audio
is bit-identical; device cells ran in their clip group's padded batch, which
equals the clip alone within float32 kernel rounding.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner
from sweep_fixtures import load_analytic_detector

import audiostress as ast
from audiostress.cli import main
from audiostress.runners.sweep import SweepConfig, run_sweep

#: |p_fake(replayed) - p_fake(scores.csv)| allowed (the issue's bar).
P_FAKE_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory, dataset_dir: Path, grid_path: Path) -> Path:
    out = tmp_path_factory.mktemp("sweep") / "run"
    run_sweep(SweepConfig(detector=load_analytic_detector(4), data=str(dataset_dir), grid=grid_path, out=out,
                          report=False, n_bootstrap=0, batch_size=4, workers=0))  # fmt: skip
    return out


def stored_p_fake(sweep_dir: Path) -> dict[tuple[str, str], float]:
    with (sweep_dir / "scores.csv").open() as f:
        return {(r["clip_id"], r["cell_id"]): float(r["p_fake"]) for r in csv.DictReader(f)}


@pytest.mark.parametrize("cell_id", ["gaussian_noise@3", "low_pass@4", "mp3@3", "gain{gain_db=-6}", "clean"])
def test_replayed_audio_scores_the_stored_p_fake(tmp_path: Path, sweep_dir: Path, cell_id: str) -> None:
    detector = load_analytic_detector(4)
    stored = stored_p_fake(sweep_dir)
    for clip_id in ("bonafide/bonafide_01", "spoof/spoof_03"):
        wav = tmp_path / f"{clip_id.replace('/', '_')}.wav"
        audio, sr = ast.load_results(sweep_dir).replay(clip_id, cell_id, out=wav)
        on_disk, sr_disk = sf.read(str(wav), dtype="float32", always_2d=True)
        assert sr_disk == sr == 16000 and sf.info(str(wav)).subtype == "FLOAT"
        assert np.array_equal(on_disk.T, audio)  # float32 WAV keeps every bit
        p = float(detector.score([torch.from_numpy(on_disk.T.copy())], sr, clip_ids=[clip_id]).p_fake[0])
        assert abs(p - stored[(clip_id, cell_id)]) <= P_FAKE_TOLERANCE


def test_noise_replay_depends_on_the_pair_seed(sweep_dir: Path) -> None:
    a, _ = ast.load_results(sweep_dir).replay("bonafide/bonafide_01", "gaussian_noise@3")
    b, _ = ast.load_results(sweep_dir).replay("bonafide/bonafide_01", "gaussian_noise@3")
    clean, _ = ast.load_results(sweep_dir).replay("bonafide/bonafide_01", "clean")
    assert np.array_equal(a, b)
    snr = 10 * np.log10(np.sum(clean**2) / np.sum((a - clean) ** 2))
    assert abs(snr - 20.0) < 0.05  # gaussian_noise@3 is 20 dB (Li et al. ladder)


def test_cli_replay_writes_the_same_bytes_and_errors_name_the_pair(tmp_path: Path, sweep_dir: Path) -> None:
    out = tmp_path / "pair.wav"
    result = CliRunner().invoke(main, ["replay", str(sweep_dir), "--clip-id", "spoof/spoof_03", "--cell-id", "mp3@3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    audio, _ = ast.load_results(sweep_dir).replay("spoof/spoof_03", "mp3@3")
    assert np.array_equal(sf.read(str(out), dtype="float32", always_2d=True)[0].T, audio)
    bad = CliRunner().invoke(main, ["replay", str(sweep_dir), "--clip-id", "spoof/spoof_03", "--cell-id", "mp3@9", "-o", str(out)])
    assert bad.exit_code == 2 and "no cell 'mp3@9'" in bad.output and "mp3@3" in bad.output
    bad = CliRunner().invoke(main, ["replay", str(sweep_dir), "--clip-id", "nope", "--cell-id", "mp3@3", "-o", str(out)])
    assert bad.exit_code == 2 and "'nope'" in bad.output
    bad = CliRunner().invoke(main, ["replay", str(sweep_dir), "--clip-id", "spoof/spoof_03", "--cell-id", "mp3@3", "-o", str(tmp_path / "x.flac")])
    assert bad.exit_code == 2 and ".wav" in bad.output
