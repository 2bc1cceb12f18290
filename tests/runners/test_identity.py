"""The store's dataset identity: the clip set (--limit, clip ids) and the absolute source; empty shards warn."""

from __future__ import annotations

from pathlib import Path

import pytest
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


def test_resume_from_another_directory_matches_and_a_namesake_dataset_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dataset(tmp_path / "a" / "clips", n_per_class=2)
    write_dataset(tmp_path / "b" / "clips", n_per_class=2)  # same clip ids, another folder
    out = tmp_path / "run"
    monkeypatch.chdir(tmp_path / "a")
    assert sweep(tmp_path, "clips", out).n_scored == 4 * 2
    monkeypatch.chdir(tmp_path)
    resumed = sweep(tmp_path, "a/clips", out)
    assert resumed.n_scored == 0 and resumed.n_skipped == 4 * 2
    monkeypatch.chdir(tmp_path / "b")
    with pytest.raises(StoreError) as info:
        sweep(tmp_path, "clips", out)
    message = str(info.value)
    assert "source" in message and "/a/clips -> " in message and message.count("/b/clips") == 1


def test_a_shard_without_groups_warns_naming_the_shard_and_the_groups(
    tmp_path: Path, dataset_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    res = sweep(tmp_path, dataset_dir, tmp_path / "s3", shard="3/3")  # 12 clips form 2 groups
    assert res.n_scored == 0
    err = capsys.readouterr().err
    assert "warning: shard 3/3 holds no clips" in err and "2 group(s)" in err
