"""``audiostress.sweep(..., procs=N)``: shard processes fed the resolved config on stdin, merged into the bytes of one process."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import torch
from sweep_fixtures import DETECTOR_INPUT, DETECTOR_OUTPUT, DETECTOR_SPEC

import audiostress as ast
from audiostress.detectors import load_detector
from audiostress.runners.launch import shard_dir


def run(detector: object, dataset_dir: Path, grid_path: Path, **kw: object) -> ast.SweepResult:
    return ast.sweep(detector, dataset_dir, grid_path, input=dict(DETECTOR_INPUT), output=dict(DETECTOR_OUTPUT),
                     report=False, n_bootstrap=20, batch_size=3, **kw)  # fmt: skip


def shard_pairs(out: Path, index: int) -> set[tuple[str, str]]:
    with sqlite3.connect(str(shard_dir(out, index) / "results.sqlite")) as conn:
        return {(a, b) for a, b in conn.execute("SELECT clip_id, cell_id FROM scores")}


def test_procs_2_from_python_gives_the_bytes_of_one_process(tmp_path: Path, dataset_dir: Path, grid_path: Path) -> None:
    one = run(DETECTOR_SPEC, dataset_dir, grid_path, out=tmp_path / "one")
    two = run(DETECTOR_SPEC, dataset_dir, grid_path, out=tmp_path / "two", procs=2)
    assert (tmp_path / "two" / "scores.csv").read_bytes() == (tmp_path / "one" / "scores.csv").read_bytes()
    first, second = shard_pairs(tmp_path / "two", 1), shard_pairs(tmp_path / "two", 2)
    assert first and second and not first & second and len(first | second) == 60  # both shards worked, apart
    assert two.run is not None and two.run.n_scored == 60
    assert two.cell("mp3@3").eer == one.cell("mp3@3").eer
    again = run(DETECTOR_SPEC, dataset_dir, grid_path, out=tmp_path / "two", procs=2)  # the merged store is finished
    assert again.run is None


def test_a_loaded_detector_travels_as_its_spec(tmp_path: Path, dataset_dir: Path, grid_path: Path) -> None:
    detector = load_detector(DETECTOR_SPEC, input=dict(DETECTOR_INPUT), output=dict(DETECTOR_OUTPUT))
    one = run(DETECTOR_SPEC, dataset_dir, grid_path, out=tmp_path / "one")
    run(detector, dataset_dir, grid_path, out=tmp_path / "two", procs=2)
    assert (tmp_path / "two" / "scores.csv").read_bytes() == (one.out_dir / "scores.csv").read_bytes()


def test_a_detector_that_cannot_travel_is_refused_before_any_process(tmp_path: Path, dataset_dir: Path, grid_path: Path) -> None:
    def local_model(audio: torch.Tensor) -> torch.Tensor:  # a closure: not importable by another process
        return audio.abs().mean(dim=-1) + 0.0 * len(str(tmp_path))

    with pytest.raises(TypeError, match="procs= .* detector.*cannot be pickled"):
        run(local_model, dataset_dir, grid_path, out=tmp_path / "closure", procs=2)
    assert not (tmp_path / "closure" / "shards").exists()


@pytest.mark.parametrize(("kw", "message"), [
    ({"procs": 0}, "`procs` to be an integer >= 1"),
    ({"procs": 2, "shard": "1/2"}, "drop shard="),
    ({"gpus": "0,1"}, "pass device='cuda'"),
])  # fmt: skip
def test_bad_procs_options_are_refused(tmp_path: Path, dataset_dir: Path, grid_path: Path, kw: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run(DETECTOR_SPEC, dataset_dir, grid_path, out=tmp_path / "bad", **kw)
