"""Bit-identical scores with a real batched model (examples/my_model.py through examples/detector_card.yaml).

The analytic detector of the other sweep tests scores row by row, so it cannot
see batch composition. The example model's strided convolutions and linear head
run batched, and such kernels round the last bits differently for different
batch sizes. The engine therefore scores each (group, cell) in one detector
call, whatever ``--batch-size`` (as long as a group's windows fit in one
forward), worker count or resume point; these tests hold it to that.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from audiostress.runners.plan import GROUP_CLIPS, group_of, n_groups_for
from audiostress.runners.sweep import SweepConfig, run_sweep

CARD = Path(__file__).resolve().parents[2] / "examples" / "detector_card.yaml"
#: One device FFT cell, one exact device cell, one CPU codec cell.
GRID = """
cells:
  - {corruption: low_pass, severity: 2}
  - {corruption: gain, severity: 5}
  - {corruption: mp3, severity: 3}
"""
#: Both batch sizes hold every window of one group (12 clips -> 2 groups of about 6; one window per clip).
BATCH_SIZES = (16, 32)


def sweep(tmp_path: Path, data: Path, name: str, *, batch_size: int = 16, workers: int = 0) -> Path:
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID)
    res = run_sweep(SweepConfig(
        detector=str(CARD), data=str(data), grid=grid, out=tmp_path / name, batch_size=batch_size,
        workers=workers, quiet=True, report=False, n_bootstrap=20,
    ))  # fmt: skip
    assert res.n_errors == 0
    return res.out_dir


def scores(out: Path) -> bytes:
    return (out / "scores.csv").read_bytes()


def group_members(out: Path) -> list[list[str]]:
    """The clip ids of each group, as the plan forms them."""
    with sqlite3.connect(str(out / "results.sqlite")) as conn:
        ids = sorted({r[0] for r in conn.execute("SELECT clip_id FROM scores")})
    n = n_groups_for(len(ids))
    groups: dict[int, list[str]] = {}
    for clip_id in ids:
        groups.setdefault(group_of(clip_id, n), []).append(clip_id)
    return [groups[g] for g in sorted(groups)]


def test_batch_sizes_that_hold_a_group_give_the_same_bytes(tmp_path: Path, dataset_dir: Path) -> None:
    a = sweep(tmp_path, dataset_dir, "b16", batch_size=BATCH_SIZES[0])
    b = sweep(tmp_path, dataset_dir, "b32", batch_size=BATCH_SIZES[1])
    assert max(len(g) for g in group_members(a)) <= min(BATCH_SIZES)
    assert scores(a) == scores(b)


def test_resume_after_rows_deleted_mid_group_gives_the_same_bytes(tmp_path: Path, dataset_dir: Path) -> None:
    """Single pairs missing in the middle of groups are rescored within their whole (group, cell).

    A model like this one rounds a batch of one differently from a larger batch,
    so scoring only the missing pairs would change their bits.
    """
    whole = sweep(tmp_path, dataset_dir, "whole")
    resumed = tmp_path / "resumed"
    shutil.copytree(whole, resumed)
    (resumed / "scores.csv").unlink()
    first, second = group_members(whole)[:2]
    assert min(len(first), len(second)) >= 4 and max(len(first), len(second)) <= 2 * GROUP_CLIPS
    lost = ((first[1], "clean"), (second[1], "low_pass@2"), (second[-2], "gain@5"), (second[-2], "mp3@3"))
    with sqlite3.connect(str(resumed / "results.sqlite")) as conn:
        for clip_id, cell_id in lost:
            assert conn.execute("DELETE FROM scores WHERE clip_id = ? AND cell_id = ?", (clip_id, cell_id)).rowcount == 1
        # A pair that failed on the first run (a transient error) is retried on resume and replaced.
        changed = conn.execute(
            "UPDATE scores SET raw_score = NULL, p_fake = NULL, error = 'transient' WHERE clip_id = ? AND cell_id = ?",
            (first[-2], "mp3@3"),
        ).rowcount
        assert changed == 1
    sweep(tmp_path, dataset_dir, "resumed")
    assert scores(resumed) == scores(whole)


def test_one_or_two_workers_give_the_same_bytes(tmp_path: Path, dataset_dir: Path) -> None:
    assert scores(sweep(tmp_path, dataset_dir, "w1", workers=1)) == scores(sweep(tmp_path, dataset_dir, "w2", workers=2))
