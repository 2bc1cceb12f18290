"""Padded batches are capped by total samples: a long clip no longer pads its whole group, and runs alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
import torch
from sweep_fixtures import load_analytic_detector, write_dataset

from audiostress.corruptions import create
from audiostress.corruptions.graph import Chain
from audiostress.data import load_dataset
from audiostress.runners.corrupt_worker import can_chunk, clip_snr_db, corrupt_chunked
from audiostress.runners.engine import Engine
from audiostress.runners.grid import load_grid
from audiostress.runners.plan import make_plan
from audiostress.runners.pool import WorkerPool
from audiostress.runners.work import MAX_BATCH_SAMPLES, LoadedGroup, corrupt_batch, corrupt_on_device, load_group, pack
from audiostress.seeding import make_generator
from audiostress.synth import speech_like

GRID = "cells:\n  - {corruption: low_pass, severity: 2}\n"
#: Short clips of 0.5 s at 16 kHz (the shared dataset); the cap holds several of them but not the long one.
CAP = 40_000


def test_pack_keeps_plan_order_under_the_cap_and_puts_long_items_alone() -> None:
    sizes = [(8000, 1), (8000, 1), (100_000, 1), (8000, 1), (8000, 1), (8000, 1), (8000, 1), (8000, 1)]
    assert pack(sizes, CAP) == [[0, 1, 3, 4, 5], [6, 7], [2]]
    assert pack(sizes, 10**9) == [list(range(8))]  # a huge cap: the whole group, as before the cap
    assert pack([(8000, 2)] * 3, 32_000) == [[0, 1], [2]]  # channels count
    assert pack([], CAP) == []
    with pytest.raises(ValueError, match="max_batch_samples"):
        pack(sizes, 0)


def test_default_cap_holds_a_group_of_eight_sixteen_second_clips() -> None:
    assert pack([(16 * 16000, 1)] * 8, MAX_BATCH_SAMPLES) == [list(range(8))]
    assert pack([(16 * 16000, 1)] * 9, MAX_BATCH_SAMPLES) == [list(range(8)), [8]]


class CallLog:
    """The analytic detector, logging the clip ids and lengths of each score call."""

    def __init__(self) -> None:
        self.inner = load_analytic_detector(16)
        self.name = "call-log"
        self.calls: list[list[tuple[str, int]]] = []

    def score(self, audio: Any, sample_rate: int, *, clip_ids: Any, generators: Any = None) -> Any:
        self.calls.append([(str(c), int(a.shape[-1])) for c, a in zip(clip_ids, audio)])
        return self.inner.score(audio, sample_rate, clip_ids=clip_ids, generators=generators)


LONG = 100_000


def long_dataset(root: Path) -> tuple[Path, str]:
    """The shared 12-clip dataset, with the second clip of the first group replaced by a clip of ``LONG`` samples."""
    write_dataset(root)
    clips = load_dataset(str(root)).clips
    plan = make_plan(clips, ["clean"], 0)
    long_clip = plan.clips[next(plan.pending_groups())[1]]
    sf.write(str(long_clip.path), speech_like(LONG / 16000, 16000, seed=9).numpy()[0], 16000, subtype="FLOAT")
    return root, long_clip.clip_id


def test_a_long_clip_runs_alone_and_the_short_ones_keep_one_unpadded_batch(tmp_path: Path) -> None:
    root, long_id = long_dataset(tmp_path / "clips")
    (tmp_path / "grid.yaml").write_text(GRID)
    grid = load_grid(tmp_path / "grid.yaml")
    cell = grid.cells[1]
    plan = make_plan(load_dataset(str(root)).clips, [c.cell_id for c in grid.cells], 0)
    group = next(plan.pending_groups())
    loaded = load_group(plan, group)
    units = [plan.unit(i, cell.cell_id) for i in group]
    assert units[1].clip_id == long_id and loaded.audio[group[1]][0].shape[-1] == LONG
    items, failures = corrupt_on_device(plan, cell, units, loaded, torch.device("cpu"), CAP)
    assert failures == [] and [it.unit for it in items] == units
    short = [u for u in units if u.clip_id != long_id]
    assert len(short) * 8000 <= CAP  # the group's short clips fit in one batch
    # The short clips are exactly one batch of their own, not padded to the long clip.
    outs, _ = corrupt_batch(cell, [loaded.audio[u.clip_index][0] for u in short], 16000, [u.seed for u in short],
                            torch.device("cpu"))  # fmt: skip
    by_unit = {it.unit: it.audio for it in items}
    assert all(torch.equal(by_unit[u], out) for u, out in zip(short, outs))
    # The long clip, alone above the cap, is low-passed in chunks: close to the whole-clip filter.
    whole, _ = corrupt_batch(cell, [loaded.audio[group[1]][0]], 16000, [units[1].seed], torch.device("cpu"))
    assert by_unit[units[1]].shape == whole[0].shape == (1, LONG)
    assert clip_snr_db(whole[0], by_unit[units[1]]) > 60.0


def test_detector_calls_follow_the_cap_and_repeat_exactly(tmp_path: Path) -> None:
    root, long_id = long_dataset(tmp_path / "clips")
    (tmp_path / "grid.yaml").write_text(GRID)
    grid = load_grid(tmp_path / "grid.yaml")
    clips = load_dataset(str(root)).clips

    def run(cap: int) -> tuple[list[list[tuple[str, int]]], list[Any]]:
        log, rows = CallLog(), []
        engine = Engine(make_plan(clips, [c.cell_id for c in grid.cells], 0), grid, log, rows.extend,
                        device=torch.device("cpu"), max_batch_samples=cap)  # fmt: skip
        with WorkerPool(0) as pool:
            engine.run(pool)
        assert len(rows) == 2 * len(clips) and all(r.error is None for r in rows)
        return log.calls, sorted((r.key, r.raw_score) for r in rows)

    capped, capped_rows = run(CAP)
    again, again_rows = run(CAP)
    huge, _ = run(10**9)
    assert capped == again and capped_rows == again_rows  # fixed composition for a fixed cap
    assert sum(1 for c in capped if c == [(long_id, LONG)]) == 2  # alone, for the clean cell and for low_pass
    assert all(len(c) == 1 or max(n for _, n in c) * len(c) <= CAP for c in capped)
    assert all(any(n == LONG for _, n in c) for c in huge if len(c) > 1 and long_id in {cid for cid, _ in c})
    assert len(huge) == 4 < len(capped)  # without the cap: one call per (group, cell), 2 groups x 2 cells


def test_only_local_corruptions_are_chunked_and_a_chunked_gain_is_the_whole_one(tmp_path: Path) -> None:
    grid = load_grid("quick")
    chunked = {c.corruption for c in grid.cells if can_chunk(c.node)}
    assert chunked == {"gaussian_noise", "low_pass", "pitch_shift", "packet_loss", "mp3", "opus"}
    assert can_chunk(Chain(create("low_pass", 2), create("mp3", 3))) and not can_chunk(Chain(create("mp3", 3), create("time_stretch", 3)))
    x = speech_like(2.0, 16000, seed=3)
    (tmp_path / "gain.yaml").write_text("cells:\n  - {corruption: gain, severity: 5}\n")
    gain = load_grid(tmp_path / "gain.yaml").cells[1].node
    whole = gain.apply_items(x.unsqueeze(0), 16000, [make_generator(0)], torch.tensor([x.shape[-1]]))[0]
    parts = corrupt_chunked(gain, x, 16000, make_generator(0), 5000)
    assert torch.allclose(parts, whole, atol=1e-6) and parts.shape == x.shape


def test_a_group_under_the_cap_is_untouched(tmp_path: Path, dataset_dir: Path) -> None:
    """With every clip short, the cap changes nothing: one padded batch per (group, cell), as before."""
    (tmp_path / "grid.yaml").write_text(GRID)
    grid = load_grid(tmp_path / "grid.yaml")
    cell = grid.cells[1]
    plan = make_plan(load_dataset(str(dataset_dir)).clips, [c.cell_id for c in grid.cells], 0)
    group = next(plan.pending_groups())
    loaded: LoadedGroup = load_group(plan, group)
    units = [plan.unit(i, cell.cell_id) for i in group]
    items, _ = corrupt_on_device(plan, cell, units, loaded, torch.device("cpu"))
    outs, _ = corrupt_batch(cell, [loaded.audio[i][0] for i in group], 16000, [u.seed for u in units], torch.device("cpu"))
    assert all(torch.equal(it.audio, out) for it, out in zip(items, outs))
