"""Bad clips inside a dataset end up in `errors` with a clear message; the other clips are scored."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sweep_fixtures import SR, load_analytic_detector, write_dataset

from audiostress.runners.engine import SweepAbort
from audiostress.runners.sweep import SweepConfig, run_sweep

GRID = "cells:\n  - {corruption: gain, severity: 3}\n  - {corruption: mp3, severity: 2}\n"
N_CELLS = 3  # clean + 2


def add_bad_files(root: Path) -> dict[str, str]:
    """Bad files in the spoof folder; returns clip id (or row) -> a phrase its error must contain."""
    spoof = root / "spoof"
    good = (np.random.default_rng(0).standard_normal(SR // 2) * 0.1).astype(np.float32)
    sf.write(str(spoof / "whole.flac"), good, SR)
    data = (spoof / "whole.flac").read_bytes()
    (spoof / "truncated.flac").write_bytes(data[: len(data) // 2])
    (spoof / "whole.flac").unlink()
    (spoof / "empty.wav").write_bytes(b"")
    nan = good.copy()
    nan[100:300] = np.nan
    sf.write(str(spoof / "nan.wav"), nan, SR, subtype="FLOAT")
    (spoof / "notes.wav").write_text("this is a text file, not audio\n" * 20)
    os.symlink(root / "gone" / "missing.wav", spoof / "dangling.wav")
    return {
        "spoof/truncated": "decode failed",
        "spoof/empty": "file is empty (0 bytes)",
        "spoof/nan": "contains NaN or Inf samples",
        "spoof/notes": "not an audio file",
        "spoof/dangling.wav": "not found",
    }


@pytest.fixture()
def bad_dataset(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = write_dataset(tmp_path / "data", n_per_class=4)
    return root, add_bad_files(root)


def test_bad_files_are_errors_with_clear_messages_and_the_rest_is_scored(tmp_path: Path, bad_dataset) -> None:
    root, expected = bad_dataset
    (tmp_path / "grid.yaml").write_text(GRID)
    res = run_sweep(SweepConfig(detector=load_analytic_detector(), data=str(root), grid=tmp_path / "grid.yaml",
                                out=tmp_path / "out", quiet=True, report=False, n_bootstrap=20))
    assert res.n_scored == 8 * N_CELLS  # every good clip in every cell
    assert res.n_errors == 4 * N_CELLS  # every loadable-but-bad clip in every cell
    errors = json.loads((tmp_path / "out" / "metrics.json").read_text())["errors"]
    by_clip: dict[str, list[dict]] = {}
    for e in errors:  # a dataset row that never became a clip has no clip id, only its row
        by_clip.setdefault(e["clip_id"] or str(e.get("row")), []).append(e)
    for clip_id, phrase in expected.items():
        matches = [k for k in by_clip if k.endswith(clip_id)]
        assert matches, f"{clip_id} missing from errors: {sorted(by_clip)}"
        for e in by_clip[matches[0]]:
            assert phrase in e["error"], e
    assert {e["cell_id"] for e in by_clip["spoof/nan"]} == {"clean", "gain@3", "mp3@2"}
    assert all(e["error"].startswith("audio failed to load:") for e in by_clip["spoof/empty"])
    assert next(c for c in res.metrics["cells"] if c["cell_id"] == "gain@3")["n"] == 8


def test_strict_stops_at_the_first_bad_clip(tmp_path: Path, bad_dataset) -> None:
    root, _ = bad_dataset
    (tmp_path / "grid.yaml").write_text(GRID)
    with pytest.raises(ValueError, match="strict"):  # the dataset's own check stops at the dangling link
        run_sweep(SweepConfig(detector=load_analytic_detector(), data=str(root), grid=tmp_path / "grid.yaml",
                              out=tmp_path / "out", quiet=True, report=False, strict=True))
    (root / "spoof" / "dangling.wav").unlink()
    with pytest.raises(SweepAbort, match=r"spoof/(empty|nan|notes|truncated) / clean: audio failed to load"):
        run_sweep(SweepConfig(detector=load_analytic_detector(), data=str(root), grid=tmp_path / "grid.yaml",
                              out=tmp_path / "out2", quiet=True, report=False, strict=True))


class FlakyDetector:
    """Wraps the analytic detector and fails every batch holding one chosen clip."""

    def __init__(self, bad_clip: str) -> None:
        self.inner = load_analytic_detector()
        self.bad = bad_clip
        self.device = self.inner.device

    def describe(self) -> dict:
        return {"name": "flaky", "spec": "test"}

    def score(self, audio, sample_rate, *, clip_ids, generators=None):
        if self.bad in clip_ids:
            raise RuntimeError(f"model exploded on a batch of {len(clip_ids)}")
        return self.inner.score(audio, sample_rate, clip_ids=clip_ids, generators=generators)


def test_a_detector_failure_is_isolated_to_the_culprit(tmp_path: Path) -> None:
    root = write_dataset(tmp_path / "data", n_per_class=4)
    (tmp_path / "grid.yaml").write_text("cells:\n  - {corruption: gain, severity: 3}\n")
    res = run_sweep(SweepConfig(detector=FlakyDetector("bonafide/bonafide_01"), data=str(root), grid=tmp_path / "grid.yaml",
                                out=tmp_path / "out", batch_size=8, quiet=True, report=False, n_bootstrap=20))
    assert res.n_errors == 2 and res.n_scored == 14  # only the culprit's two pairs fail
    errors = res.metrics["errors"]
    assert {e["clip_id"] for e in errors} == {"bonafide/bonafide_01"}
    assert all("detector failed: RuntimeError: model exploded on a batch of 1" == e["error"] for e in errors)
