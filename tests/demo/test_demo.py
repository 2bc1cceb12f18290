"""The built-in demo: deterministic data with real vocoder artifacts, the cached baseline detector, the whole command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from audiostress.cli import main
from audiostress.demo import data, detector
from audiostress.detectors import load_detector
from audiostress.synth import speech_like

#: The issue's bar: the baseline must have learned something on clean demo data.
MAX_CLEAN_EER = 0.2
#: Model output through the loader vs a direct forward (same float32 ops).
SCORE_ATOL = 1e-5


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private cache dir so the test trains once and never touches ~/.cache."""
    path = tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("AUDIOSTRESS_CACHE", str(path))
    yield path
    mp.undo()


def test_dataset_is_deterministic_and_splits_are_disjoint() -> None:
    a, b = data.make_clips(2, data.EVAL_SEED), data.make_clips(2, data.EVAL_SEED)
    assert [c.clip_id for c in a] == ["bonafide_000", "bonafide_001", "spoof_000", "spoof_001"]
    assert [c.attack for c in a] == [None, None, "griffin_lim", "mel_vocoder"]
    assert all(torch.equal(x.audio, y.audio) for x, y in zip(a, b))
    train = data.make_clips(2, data.TRAIN_SEED)
    assert not any(torch.equal(x.audio, y.audio) for x, y in zip(a, train))


def _band_share(audio: torch.Tensor, low_hz: float) -> float:
    spec = torch.fft.rfft(audio[0].double()).abs().square()
    freqs = torch.fft.rfftfreq(audio.shape[-1], 1 / data.SAMPLE_RATE)
    return float(spec[freqs >= low_hz].sum() / spec.sum())


def test_spoof_clips_carry_real_vocoder_artifacts() -> None:
    source = speech_like(data.DURATION_S, data.SAMPLE_RATE, seed=7)
    gl = data.griffin_lim(source)
    mel = data.mel_vocoder(source)
    # Griffin-Lim keeps the magnitude spectrogram roughly but not the waveform (phase is re-estimated)
    window = torch.hann_window(data.N_FFT)
    mag = lambda x: torch.stft(x, data.N_FFT, data.HOP, window=window, return_complex=True).abs()  # noqa: E731
    scale = source.abs().max() / gl.abs().max()
    convergence = float((mag(gl * scale) - mag(source)).norm() / mag(source).norm())
    assert convergence < 0.6
    err = gl * scale - source
    assert float(10 * torch.log10(source.square().sum() / err.square().sum())) < 6.0
    # the mel vocoder is band-limited at MEL_FMAX_HZ; the bona fide-like source is full band
    assert _band_share(mel, data.MEL_FMAX_HZ + 500) < 0.1 * _band_share(source, data.MEL_FMAX_HZ + 500)


def test_detector_trains_once_and_loads_through_the_loader(cache: Path) -> None:
    ckpt = detector.ensure_checkpoint(quiet=True)
    assert ckpt.parent == cache and detector.config_hash() in ckpt.name
    mtime = ckpt.stat().st_mtime_ns
    assert detector.ensure_checkpoint(quiet=True) == ckpt and ckpt.stat().st_mtime_ns == mtime  # cached
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert set(state) >= {"weight", "bias", "feature_mean", "feature_std"}
    other = dict(detector.TRAIN_CONFIG, l2=1.0)
    assert detector.checkpoint_path(other) != ckpt
    det = load_detector("audiostress.demo.detector:build", checkpoint=str(ckpt), input=detector.INPUT, output=detector.OUTPUT)
    clips = data.make_clips(3, data.EVAL_SEED)
    scores = det.score([c.audio for c in clips], data.SAMPLE_RATE, clip_ids=[c.clip_id for c in clips])
    model = detector.build()
    model.load_state_dict(state)
    with torch.no_grad():
        direct = model(torch.cat([c.audio for c in clips])).double()
    assert torch.allclose(scores.raw_score, direct, atol=SCORE_ATOL)
    assert torch.allclose(scores.p_fake, torch.sigmoid(direct), atol=SCORE_ATOL)


def test_demo_command_writes_a_report_with_a_useful_detector(cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "report at" in result.output and str((out / "report.html").resolve()) in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["clean"]["eer"] < MAX_CLEAN_EER
    assert metrics["clean"]["n_bonafide"] == metrics["clean"]["n_spoof"] == 40
    assert metrics["provenance"]["detector"]["name"] == detector.DETECTOR_NAME
    assert {c["corruption"] for c in metrics["cells"]} >= {"gaussian_noise", "mp3"}
    assert max(c["delta_eer"] for c in metrics["cells"]) > 0.1  # the corruptions do hurt the baseline
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 5 and (out / "summary.md").exists()
    assert set(metrics["per_attack"]["clean"]) == set(data.ATTACKS)


#: sha256 over (clip_id, cell_id, raw_score, p_fake, measured_snr_db) of every scores.csv row of the demo
#: sweep, taken from the engine before the public-API refactor. Refactors must keep every one of these bytes.
DEMO_SCORES_DIGEST = "127bd24c0f9372594afaa2acb937b17af10cde52fec27ee928e6474db1dbc35f"
DEMO_ROWS = 1040  # 80 clips x 13 cells of the quick grid


def scores_digest(path: Path) -> tuple[int, str]:
    """(rows, sha256) of the score-bearing columns of a scores.csv, as written (repr floats)."""
    import csv
    import hashlib

    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    h = hashlib.sha256()
    for r in rows:
        key = (r["clip_id"], r["cell_id"], r["raw_score"], r["p_fake"], r["measured_snr_db"])
        h.update(("\t".join(key) + "\n").encode("utf-8"))
    return len(rows), h.hexdigest()


def test_demo_scores_are_byte_identical_to_the_pre_refactor_engine(cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert scores_digest(out / "scores.csv") == (DEMO_ROWS, DEMO_SCORES_DIGEST)
