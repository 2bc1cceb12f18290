"""The engine's pure steps, called one by one: what each returns for a group, and that only pending pairs give rows."""

from __future__ import annotations

from pathlib import Path

import torch
from sweep_fixtures import load_analytic_detector

from audiostress.data import load_dataset
from audiostress.runners.grid import load_grid
from audiostress.runners.plan import make_plan
from audiostress.runners.work import (
    cell_units,
    clean_items,
    corrupt_batch,
    corrupt_on_device,
    load_group,
    score_cell,
    to_rows,
)

GRID = "cells:\n  - {corruption: gaussian_noise, severity: 3}\n"


def test_steps_of_one_group_give_rows_for_the_pending_pairs_only(tmp_path: Path, dataset_dir: Path) -> None:
    (tmp_path / "grid.yaml").write_text(GRID)
    grid = load_grid(tmp_path / "grid.yaml")
    clips = load_dataset(str(dataset_dir)).clips
    cells = {c.cell_id: c for c in grid.cells}
    full = make_plan(clips, list(cells), 0)
    group = next(full.pending_groups())
    first = full.clips[group[0]].clip_id
    plan = make_plan(clips, list(cells), 0, done=frozenset({(first, "gaussian_noise@3")}))

    loaded = load_group(plan, group)
    assert loaded.present == group and loaded.failures == []
    units = cell_units(plan, loaded, "gaussian_noise@3")
    assert [u.clip_index for u in units] == group  # the done pair still runs: it keeps the batch's composition

    items, failures = corrupt_on_device(plan, cells["gaussian_noise@3"], units, loaded, torch.device("cpu"))
    assert failures == [] and [it.unit for it in items] == units
    # Same bytes as one padded batch of the whole group, with each pair's own seed.
    outs, snrs = corrupt_batch(cells["gaussian_noise@3"], [loaded.audio[i][0] for i in group], 16000,
                               [u.seed for u in units], torch.device("cpu"))  # fmt: skip
    assert all(torch.equal(it.audio, out) for it, out in zip(items, outs))
    assert [it.snr_db for it in items] == snrs and all(abs(s - 20.0) < 0.05 for s in snrs)

    detector = load_analytic_detector(16)
    scored, failures = score_cell(plan, detector, items)
    assert failures == [] and [s.unit for s in scored] == units[1:]
    rows = to_rows(plan, cells, scored, [])
    assert [r.key for r in rows] == [(u.clip_id, u.cell_id) for u in units[1:]]
    assert all(r.severity == 3 and r.corruption == "gaussian_noise" and r.error is None for r in rows)

    clean_scored, _ = score_cell(full, detector, clean_items(cell_units(full, loaded, "clean"), loaded))
    clean_rows = to_rows(full, cells, clean_scored, [])
    assert [r.measured_snr_db for r in clean_rows] == [None] * len(group)
    assert all(r.label in ("bonafide", "spoof") and r.p_fake is not None and 0 <= r.p_fake <= 1 for r in clean_rows)


def test_a_clip_that_fails_to_load_fails_each_pending_cell(tmp_path: Path, dataset_dir: Path) -> None:
    (tmp_path / "grid.yaml").write_text(GRID)
    grid = load_grid(tmp_path / "grid.yaml")
    plan = make_plan(load_dataset(str(dataset_dir)).clips, [c.cell_id for c in grid.cells], 0)
    group = next(plan.pending_groups())

    def broken_loader(path: object) -> tuple[torch.Tensor, int]:
        raise OSError(f"cannot read {path}")

    loaded = load_group(plan, group, loader=broken_loader)
    assert loaded.present == [] and len(loaded.failures) == 2 * len(group)
    assert all(f.message.startswith("audio failed to load: OSError: cannot read ") for f in loaded.failures)
    rows = to_rows(plan, {c.cell_id: c for c in grid.cells}, [], loaded.failures)
    assert [r.raw_score for r in rows] == [None] * len(rows) and {r.cell_id for r in rows} == {"clean", "gaussian_noise@3"}
