"""Groups and detector calls follow the batch size; a fixed batch size gives the same bytes everywhere.

For a fixed batch size the scores are byte-identical across worker count,
resume point and shard; across batch sizes (other call compositions) they agree
within ``batching.BATCH_SIZE_TOLERANCE``, measured on the analytic detector and
on the example TinyAasist; the batch size is part of the store identity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from sweep_fixtures import DETECTOR_OUTPUT, DETECTOR_SPEC, SR, load_analytic_detector, write_dataset

from audiostress.data import load_dataset
from audiostress.detectors import load_detector
from audiostress.runners.batching import (
    BATCH_SIZE_TOLERANCE,
    SLOT_SAMPLES,
    batch_samples_for,
    group_clips_for,
    group_clips_of,
)
from audiostress.runners.engine import Engine
from audiostress.runners.grid import Grid, load_grid
from audiostress.runners.plan import GROUP_CLIPS, Shard, make_plan
from audiostress.runners.pool import WorkerPool
from audiostress.runners.preflight import read_headers
from audiostress.runners.store import StoreError
from audiostress.runners.sweep import SweepConfig, run_sweep
from audiostress.runners.work import MAX_BATCH_SAMPLES

CARD = Path(__file__).resolve().parents[2] / "examples" / "detector_card.yaml"
#: A device-batched filter, seeded noise and a codec run per item on CPU.
GRID = (
    "cells:\n  - {corruption: low_pass, severity: 2}\n  - {corruption: gaussian_noise, severity: 3}\n"
    "  - {corruption: mp3, severity: 3}\n"
)
N_PER_CLASS = 32  # 64 clips: two groups at batch size 32, eight at the default


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    return load_dataset(str(write_dataset(tmp_path_factory.mktemp("big") / "clips", N_PER_CLASS))).clips


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Grid:
    path = tmp_path_factory.mktemp("grid") / "grid.yaml"
    path.write_text(GRID)
    return load_grid(path)


class CallLog:
    """A detector that logs the clip count of each ``score`` call (batch size and input from the inner one)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.batch_size, self.input = inner.name, inner.batch_size, inner.input
        self.calls: list[int] = []

    def score(self, audio: Any, sample_rate: int, *, clip_ids: Any, generators: Any = None) -> Any:
        self.calls.append(len(clip_ids))
        return self.inner.score(audio, sample_rate, clip_ids=clip_ids, generators=generators)


def sweep_engine(
    clips: list[Any], grid: Grid, detector: Any, *, workers: int = 0, shard: Shard | None = None,
    done: frozenset[tuple[str, str]] = frozenset(),
) -> dict[tuple[str, str], tuple[Any, Any, Any]]:  # fmt: skip
    """Run the engine on a plan grouped by the detector's batch size; (clip, cell) -> (raw, p_fake, snr)."""
    group_clips = group_clips_of(detector, read_headers(clips), SR)
    plan = make_plan(clips, [c.cell_id for c in grid.cells], 0, shard=shard, done=done, group_clips=group_clips)
    rows: list[Any] = []
    with WorkerPool(workers) as pool:
        Engine(plan, grid, detector, rows.extend, device=torch.device("cpu"), corrupt_rate=SR).run(pool)
    assert all(r.error is None for r in rows), [r.error for r in rows if r.error][:3]
    return {r.key: (r.raw_score, r.p_fake, r.measured_snr_db) for r in rows}


def tiny_aasist(batch_size: int) -> Any:
    return load_detector(str(CARD), batch_size=batch_size)


def test_group_and_cap_sizes_follow_the_batch_size() -> None:
    assert [group_clips_for(b) for b in (1, 8, 16)] == [GROUP_CLIPS] * 3  # the default and below: today's groups
    assert [group_clips_for(b) for b in (17, 32, 128)] == [17, 32, 128]
    assert group_clips_for(128, windows_per_clip=8) == 16  # windows, not clips, fill a batch
    assert group_clips_for(128, clip_samples=60 * SR) == 17  # long clips: the group fits the sample cap
    assert batch_samples_for(16) == MAX_BATCH_SAMPLES == batch_samples_for(1)
    assert batch_samples_for(128) == 128 * SLOT_SAMPLES == 1 << 24
    with pytest.raises(ValueError, match="batch_size"):
        group_clips_for(0)


def test_the_plan_keeps_its_group_size_and_shards_take_whole_groups(clips: list[Any]) -> None:
    plan = make_plan(clips, ["clean"], 0, group_clips=32)
    assert plan.group_clips == 32 and plan.n_groups == 2
    groups = list(plan.pending_groups())
    assert len(groups) == 2 and sum(map(len, groups)) == 64
    assert make_plan(clips, ["clean"], 0).group_clips == GROUP_CLIPS
    shards = [make_plan(clips, ["clean"], 0, shard=Shard(i, 2), group_clips=32) for i in (1, 2)]
    assert sorted(c.clip_id for s in shards for c in s.clips) == sorted(c.clip_id for c in clips)
    with pytest.raises(ValueError, match="group_clips"):
        make_plan(clips, ["clean"], 0, group_clips=0)


def test_windows_per_clip_come_from_the_headers_and_the_input_spec(clips: list[Any]) -> None:
    windows = {"sample_rate": SR, "length": 2000, "pad": "zero", "crop": "windows", "hop": 2000}
    det = load_detector(DETECTOR_SPEC, input=windows, output=DETECTOR_OUTPUT, batch_size=32)
    assert det.input.windows(int(0.5 * SR)) == 4  # 8000 samples -> 4 windows of 2000
    assert group_clips_of(det, read_headers(clips), SR) == 8
    assert group_clips_of(load_analytic_detector(32), read_headers(clips), SR) == 32
    assert group_clips_of(load_analytic_detector(32), [None], SR) == 32  # no header: one window per clip


def test_a_detector_call_holds_the_batch_size(clips: list[Any], grid: Grid) -> None:
    for batch_size, expected in ((32, 32), (16, GROUP_CLIPS)):
        log = CallLog(load_analytic_detector(batch_size))
        sweep_engine(clips, grid, log)
        n_groups = len(clips) // expected
        assert len(log.calls) == n_groups * len(grid.cells)  # one call per (group, cell)
        assert sum(log.calls) / len(log.calls) == len(clips) / n_groups == expected


def test_the_default_cap_follows_the_batch_size(clips: list[Any], grid: Grid) -> None:
    plan = make_plan(clips, [c.cell_id for c in grid.cells], 0)
    engine = Engine(plan, grid, load_analytic_detector(128), print, device=torch.device("cpu"))
    assert engine.max_batch_samples == 1 << 24
    assert Engine(plan, grid, load_analytic_detector(16), print, device=torch.device("cpu")).max_batch_samples == MAX_BATCH_SAMPLES


def test_a_fixed_batch_size_gives_the_same_bytes_across_workers_resume_and_shards(clips: list[Any], grid: Grid) -> None:
    det = tiny_aasist(32)
    full = sweep_engine(clips, grid, det)
    assert len(full) == len(clips) * len(grid.cells)
    assert sweep_engine(clips, grid, det, workers=2) == full
    shards = {**sweep_engine(clips, grid, det, shard=Shard(1, 2)), **sweep_engine(clips, grid, det, shard=Shard(2, 2))}
    assert shards == full
    every_other = set(sorted({clip for clip, _ in full})[::2])
    half = frozenset(k for k in full if k[0] in every_other and k[1] != "clean")  # a resume point mid-group
    rest = sweep_engine(clips, grid, det, done=half)
    assert set(rest) == set(full) - half and {k: full[k] for k in rest} == rest


@pytest.mark.parametrize("make", [load_analytic_detector, tiny_aasist], ids=["analytic", "tiny_aasist"])
def test_scores_across_batch_sizes_agree_within_the_tolerance(clips: list[Any], grid: Grid, make: Any) -> None:
    small, large = CallLog(make(8)), CallLog(make(32))
    a, b = sweep_engine(clips, grid, small), sweep_engine(clips, grid, large)
    assert set(a) == set(b) and max(large.calls) > max(small.calls)  # other compositions
    drift = max(abs(a[k][1] - b[k][1]) for k in a)
    assert drift <= BATCH_SIZE_TOLERANCE, drift


def test_the_batch_size_is_part_of_the_store_identity(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "clips", n_per_class=2)
    (tmp_path / "grid.yaml").write_text("cells:\n  - {corruption: gain, severity: 5}\n")

    def sweep(batch_size: int) -> Any:
        return run_sweep(SweepConfig(
            detector=load_analytic_detector(batch_size), data=str(data), grid=tmp_path / "grid.yaml",
            out=tmp_path / "run", quiet=True, report=False, n_bootstrap=20, batch_size=batch_size,
        ))  # fmt: skip

    assert sweep(32).n_scored == 4 * 2
    assert sweep(32).n_skipped == 4 * 2  # the same batch size resumes
    with pytest.raises(StoreError, match="batch_size"):
        sweep(8)
