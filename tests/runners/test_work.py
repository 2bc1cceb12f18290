"""The engine's pure steps, called one by one: what each returns for a group, and that only pending pairs give rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import soundfile as sf
import torch
from sweep_fixtures import DETECTOR_INPUT, DETECTOR_OUTPUT, load_analytic_detector

from audiostress.audio import load, resample
from audiostress.data import load_dataset
from audiostress.detectors import load_detector
from audiostress.runners.engine import Engine
from audiostress.runners.grid import load_grid
from audiostress.runners.plan import make_plan
from audiostress.runners.pool import WorkerPool
from audiostress.runners.work import (
    cell_units,
    clean_items,
    corrupt_batch,
    corrupt_on_device,
    load_group,
    score_cell,
    to_rows,
)
from audiostress.synth import speech_like

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


# -- contract errors and transient failures ------------------------------------------------------
#: A `kind: probs` model that returns logits: in a batch they leave [0, 1], alone each clip gives 0.0 (in range).
LOGITS_FACTORY = "import torch\n\ndef build():\n    return lambda x: torch.arange(x.shape[0], dtype=torch.float32) * 0.6\n"
#: A model whose first batched call fails (a transient fault), then works.
FLAKY_FACTORY = """
import torch

def build():
    state = {"failed": False}

    def forward(x):
        if x.shape[0] > 1 and not state["failed"]:
            state["failed"] = True
            raise RuntimeError("transient glitch")
        return x.abs().mean(dim=1)
    return forward
"""


def clean_group(tmp_path: Path, data: Path) -> tuple[Any, dict[str, Any], list[Any]]:
    (tmp_path / "grid.yaml").write_text(GRID)
    grid = load_grid(tmp_path / "grid.yaml")
    plan = make_plan(load_dataset(str(data)).clips, [c.cell_id for c in grid.cells], 0)
    loaded = load_group(plan, next(plan.pending_groups()))
    return plan, {c.cell_id: c for c in grid.cells}, clean_items(cell_units(plan, loaded, "clean"), loaded)


def test_a_contract_error_fails_the_whole_batch_instead_of_retrying_items(tmp_path: Path, dataset_dir: Path) -> None:
    plan, cells, items = clean_group(tmp_path, dataset_dir)
    (tmp_path / "logits.py").write_text(LOGITS_FACTORY)
    detector = load_detector(f"{tmp_path / 'logits.py'}:build", input=DETECTOR_INPUT, output={"kind": "probs"})
    alone = detector.score([items[0].audio], 16000, clip_ids=["x"])  # what an item-by-item retry would accept
    assert 0.0 <= float(alone.p_fake[0]) < 1e-9  # 0.0, clamped away from 0
    scored, failures = score_cell(plan, detector, items)
    assert scored == [] and len(failures) == len(items) >= 3
    assert all("expects values in [0, 1]" in f.message and f.retries == 0 and f.note is None for f in failures)
    rows = to_rows(plan, cells, scored, failures)
    assert [r.p_fake for r in rows] == [None] * len(items)


def test_a_transient_batch_failure_is_retried_alone_and_counted_on_the_rows(tmp_path: Path, dataset_dir: Path) -> None:
    plan, cells, items = clean_group(tmp_path, dataset_dir)
    (tmp_path / "flaky.py").write_text(FLAKY_FACTORY)
    detector = load_detector(f"{tmp_path / 'flaky.py'}:build", input=DETECTOR_INPUT, output=DETECTOR_OUTPUT)
    scored, failures = score_cell(plan, detector, items)
    assert failures == [] and [s.unit for s in scored] == [it.unit for it in items]
    rows = to_rows(plan, cells, scored, failures)
    assert [r.retries for r in rows] == [1] * len(items)
    assert all(r.note is not None and r.note.startswith("scored alone after the batch failed: DetectorError: ")
               and r.note.endswith("RuntimeError: transient glitch") for r in rows)  # fmt: skip
    again, _ = score_cell(plan, detector, items)  # the fault has passed: one call, nothing retried
    assert [s.retries for s in again] == [0] * len(items) and [s.note for s in again] == [None] * len(items)
    assert [s.raw_score for s in again] == [s.raw_score for s in scored]


# -- corrupt rate ---------------------------------------------------------------------------------
class RecordingDetector:
    """The analytic detector, recording the rate and length of every clip each call receives, per cell."""

    def __init__(self) -> None:
        self.inner = load_analytic_detector(16)
        self.name = "recording"
        self.seen: list[tuple[str, str, int, int]] = []

    def score(self, audio: Any, sample_rate: int, *, clip_ids: Any, generators: Any = None) -> Any:
        self.seen += [(cid, "", int(sample_rate), int(a.shape[-1])) for cid, a in zip(clip_ids, audio)]
        return self.inner.score(audio, sample_rate, clip_ids=clip_ids, generators=generators)


def test_clips_are_resampled_to_the_corrupt_rate_before_clean_and_every_corruption(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for label, rate, seed in (("bonafide", 48000, 1), ("spoof", 16000, 2)):
        (root / label).mkdir(parents=True)
        sf.write(str(root / label / f"{label}.wav"), speech_like(0.5, rate, seed=seed).numpy()[0], rate, subtype="FLOAT")
    (tmp_path / "grid.yaml").write_text("cells:\n  - {corruption: low_pass, severity: 2}\n  - {corruption: mp3, severity: 3}\n")
    grid = load_grid(tmp_path / "grid.yaml")
    clips = load_dataset(str(root)).clips
    seen: dict[int | None, list[tuple[str, int, int]]] = {}
    for rate in (16000, None):
        plan = make_plan(clips, [c.cell_id for c in grid.cells], 0)
        detector = RecordingDetector()
        rows: list[Any] = []
        with WorkerPool(0) as pool:
            Engine(plan, grid, detector, rows.extend, device=torch.device("cpu"), corrupt_rate=rate).run(pool)
        assert len(rows) == 6 and all(r.error is None for r in rows)
        seen[rate] = sorted((cid, sr, n) for cid, _, sr, n in detector.seen)
    # clean, the device cell and the CPU (pool) cell of both clips reach the detector at 16 kHz, 0.5 s long
    assert seen[16000] == [("bonafide/bonafide", 16000, 8000)] * 3 + [("spoof/spoof", 16000, 8000)] * 3
    assert seen[None] == [("bonafide/bonafide", 48000, 24000)] * 3 + [("spoof/spoof", 16000, 8000)] * 3
    plan = make_plan(clips, [c.cell_id for c in grid.cells], 0)
    loaded = load_group(plan, [0, 1], corrupt_rate=16000)
    native, _ = load(clips[0].path)
    assert loaded.audio[0][1] == 16000 and torch.equal(loaded.audio[0][0], resample(native, 48000, 16000))
