"""The store's identity pins the clip set (--limit, ids, labels, file contents), not paths; empty shards warn."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import soundfile as sf
from sweep_fixtures import load_analytic_detector, write_dataset

from audiostress.runners.store import StoreError
from audiostress.runners.sweep import SweepConfig, run_sweep

GRID = "cells:\n  - {corruption: gain, severity: 5}\n"


def sweep(tmp_path: Path, data: str | Path, out: Path, **kw) -> object:
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID)
    cfg = dict(detector=load_analytic_detector(4), data=str(data), grid=grid, out=out, quiet=True, report=False,
               n_bootstrap=20, batch_size=4)  # fmt: skip
    cfg.update(kw)
    return run_sweep(SweepConfig(**cfg))


def test_a_different_limit_in_the_same_out_is_refused(tmp_path: Path, dataset_dir: Path) -> None:
    out = tmp_path / "run"
    first = sweep(tmp_path, dataset_dir, out, limit=4)
    assert first.n_scored == 4 * 2
    with pytest.raises(StoreError) as info:
        sweep(tmp_path, dataset_dir, out)
    message = str(info.value)
    assert "dataset" in message and "limit" in message and "4 clips" in message and "12 clips" in message


def test_a_copy_elsewhere_resumes_and_a_namesake_with_other_content_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dataset(tmp_path / "a" / "clips", n_per_class=2)
    out = tmp_path / "run"
    monkeypatch.chdir(tmp_path / "a")
    assert sweep(tmp_path, "clips", out).n_scored == 4 * 2
    # The same data from another working directory, and a byte-for-byte copy at another path
    # (another mount point or machine), resume without recomputing anything.
    monkeypatch.chdir(tmp_path)
    resumed = sweep(tmp_path, "a/clips", out)
    assert resumed.n_scored == 0 and resumed.n_skipped == 4 * 2
    shutil.copytree(tmp_path / "a" / "clips", tmp_path / "copy" / "clips")
    assert sweep(tmp_path, tmp_path / "copy" / "clips", out).n_skipped == 4 * 2
    # Same clip ids, different audio: refused, naming the dataset's clip set.
    write_dataset(tmp_path / "b" / "clips", n_per_class=2)
    victim = sorted((tmp_path / "b" / "clips").rglob("*.wav"))[0]
    audio, sr = sf.read(str(victim), dtype="float32")
    sf.write(str(victim), audio[: len(audio) // 2], sr, subtype="FLOAT")
    with pytest.raises(StoreError) as info:
        sweep(tmp_path, tmp_path / "b" / "clips", out)
    message = str(info.value)
    assert "dataset" in message and "clips" in message and "sha256" in message


def test_regenerated_audio_of_the_same_length_is_not_resumed_with_stale_scores(tmp_path: Path) -> None:
    """Issue 10, 4a (the sweep side): the identity hashes file bytes, not sizes."""
    root = write_dataset(tmp_path / "clips", n_per_class=2)
    out = tmp_path / "run"
    assert sweep(tmp_path, root, out).n_scored == 4 * 2
    victim = sorted(root.rglob("*.wav"))[0]
    audio, sr = sf.read(str(victim), dtype="float32")
    size = victim.stat().st_size
    sf.write(str(victim), -audio, sr, subtype="FLOAT")  # same length, same size, other samples
    assert victim.stat().st_size == size
    with pytest.raises(StoreError, match="sha256"):
        sweep(tmp_path, root, out)


def test_a_shard_without_groups_warns_naming_the_shard_and_the_groups(
    tmp_path: Path, dataset_dir: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.INFO, logger="audiostress"):
        res = sweep(tmp_path, dataset_dir, tmp_path / "s3", shard="3/3")  # 12 clips form 2 groups
    assert res.n_scored == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("audiostress")]
    assert len(warnings) == 1
    assert warnings[0].startswith("shard 3/3 holds no clips") and "2 group(s)" in warnings[0]
    # The summary is logged at INFO, and the library itself writes nothing to stdout or stderr.
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO and r.name == "audiostress.sweep"]
    assert infos[-1].startswith("audiostress sweep: 0 scored, 0 errors, 0 already done")
    assert capsys.readouterr() == ("", "")


def test_detector_identity_follows_content_not_location(tmp_path: Path) -> None:
    from audiostress.detectors import load_detector
    from audiostress.runners.provenance import detector_identity

    examples = Path(__file__).resolve().parents[2] / "examples"
    copy = tmp_path / "elsewhere"
    shutil.copytree(examples, copy)
    here = detector_identity(load_detector(str(examples / "detector_card.yaml")))
    there = detector_identity(load_detector(str(copy / "detector_card.yaml")))
    assert here == there and here["factory"] == "my_model.py:build" and len(here["source_sha256"]) == 64
    assert "examples" not in repr(here) and "elsewhere" not in repr(there)  # no path anywhere
    model = copy / "my_model.py"
    model.write_text(model.read_text().replace("SEED = 1234", "SEED = 4321"))
    changed = detector_identity(load_detector(str(copy / "detector_card.yaml")))
    assert changed["source_sha256"] != here["source_sha256"]
