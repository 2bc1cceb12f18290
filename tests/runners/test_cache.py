"""The corrupted-audio cache (``--cache``): lossless entries, LRU size bound, concurrent writers, shared
permissions, and sweeps that read corrupted audio back instead of computing it, with identical bytes."""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sweep_fixtures import DETECTOR_INPUT, DETECTOR_OUTPUT, load_analytic_detector

from audiostress.data import load_dataset
from audiostress.runners.cache import INDEX_NAME, CorruptCache, decode_audio, encode_audio, entry_key, parse_size
from audiostress.runners.corrupt_worker import CorruptResult, CpuTask, corrupt_item
from audiostress.runners.engine import Engine
from audiostress.runners.grid import load_grid
from audiostress.runners.plan import make_plan
from audiostress.runners.pool import WorkerPool
from audiostress.runners.sweep import SweepConfig, run_sweep

#: One device cell (a torch corruption, batched per group) and two codec cells (CPU, per item).
GRID = """
cells:
  - {corruption: gaussian_noise, severity: 3}
  - {corruption: mp3, severity: 3}
  - {corruption: opus, severity: 4}
"""
CODEC_CELLS = ("mp3@3", "opus@4")

#: A detector with another factory: mean absolute level, as a logit.
OTHER_DETECTOR = """
import torch

class Level(torch.nn.Module):
    def forward(self, audio):
        return 10.0 * audio.abs().mean(dim=-1) - 1.0

def build():
    return Level()
"""


def grid_path(tmp_path: Path) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(GRID)
    return path


def other_detector(tmp_path: Path) -> Any:
    from audiostress.detectors import load_detector

    path = tmp_path / "level_model.py"
    path.write_text(OTHER_DETECTOR)
    return load_detector(f"{path}:build", input=DETECTOR_INPUT, output=DETECTOR_OUTPUT, batch_size=4)


def sweep(tmp_path: Path, data: Path, name: str, detector: Any = None, **kw: Any) -> Any:
    cfg: dict[str, Any] = dict(
        detector=detector or load_analytic_detector(4), data=str(data), grid=grid_path(tmp_path), out=tmp_path / name,
        quiet=True, report=False, n_bootstrap=20, batch_size=4, workers=0,
    )  # fmt: skip
    cfg.update(kw)
    return run_sweep(SweepConfig(**cfg))


def counts(caplog: pytest.LogCaptureFixture) -> dict[str, int]:
    """The last cache summary line the engine logged: hits, computed, stored, evicted."""
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("corrupted-audio cache")]
    assert lines, "the engine logged no cache summary"
    m = re.search(r": (\d+) hits, (\d+) computed, (\d+) stored .*, (\d+) evicted", lines[-1])
    assert m, lines[-1]
    return dict(zip(("hits", "computed", "stored", "evicted"), map(int, m.groups())))


# -- the store --------------------------------------------------------------------------------------
def test_parse_size_reads_units_and_names_the_argument_when_wrong() -> None:
    assert parse_size("2G") == 2 * 1024**3
    assert parse_size("500M") == 500 * 1024**2
    assert parse_size("1.5K") == 1536
    assert parse_size("64kB") == 64 * 1024
    assert parse_size(1000) == 1000
    for bad in ("lots", "-1G", 0, True):
        with pytest.raises(ValueError, match="cache_size"):
            parse_size(bad)  # type: ignore[arg-type]


def test_entries_keep_every_float32_bit() -> None:
    rng = np.random.default_rng(0)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -3.4e38, 1.0], dtype=np.float32)
    audio = np.concatenate([rng.standard_normal(4093).astype(np.float32), special]).reshape(1, -1)
    blob = encode_audio("k", audio, {"snr_db": -float("inf")})
    back, meta = decode_audio(blob, "k")
    assert back.dtype == np.float32 and back.shape == audio.shape
    assert back.tobytes() == audio.tobytes()
    assert meta["snr_db"] == -float("inf")
    with pytest.raises(ValueError, match="expected"):
        decode_audio(blob, "another key")


def test_least_recently_used_entries_are_evicted_first_and_the_bound_holds(tmp_path: Path) -> None:
    audio = np.random.default_rng(1).standard_normal(2000).astype(np.float32)  # ~7.5 KB per entry
    with CorruptCache(tmp_path / "c") as probe:
        one = probe.put(entry_key({"n": -1}), audio, {})
    bound = int(one * 4.5)
    with CorruptCache(tmp_path / "lru", max_bytes=bound) as cache:
        keys = [entry_key({"n": i}) for i in range(4)]
        for k in keys:
            cache.put(k, audio, {})
        assert cache.evicted == 0 and cache.entries() == 4
        assert cache.get(keys[0]) is not None  # keys[0] is now the most recent, keys[1] the oldest
        cache.put(entry_key({"n": 4}), audio, {})  # 5 entries > 4.5: evict down to 90 % (4.05): the oldest goes
        assert cache.evicted == 1 and cache.entries() == 4
        assert cache.get(keys[1]) is None
        assert all(cache.get(k) is not None for k in (keys[0], keys[2], keys[3], entry_key({"n": 4})))
        assert cache.size_bytes() <= bound
        on_disk = sum(p.stat().st_size for p in (tmp_path / "lru" / "objects").rglob("*.asc"))
        assert on_disk == cache.size_bytes()


def _fill(root: str, worker: int, bound: int) -> None:
    audio = np.full(1500, worker, dtype=np.float32)
    with CorruptCache(root, max_bytes=bound) as cache:
        for i in range(40):
            cache.put(entry_key({"w": worker, "i": i}), audio + i, {})
            cache.get(entry_key({"w": 1 - worker, "i": i}))


def test_two_processes_filling_and_evicting_one_cache_keep_index_and_files_in_step(tmp_path: Path) -> None:
    root = tmp_path / "shared"
    bound = 60_000
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_fill, args=(str(root), w, bound)) for w in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with CorruptCache(root) as cache:
        files = {p.stem: p.stat().st_size for p in (root / "objects").rglob("*.asc")}
        listed = dict(cache._db.execute("SELECT key, size FROM entries").fetchall())
        assert files == listed  # every listed entry has its file and no file is unlisted
        assert cache.size_bytes() == sum(files.values()) <= bound
        assert not list(root.rglob("*.tmp"))
        for key in files:
            audio, _ = cache.get(key)
            assert audio.shape == (1500,) and len(set(audio.tolist())) == 1  # whole, never a torn write


def test_a_group_writable_cache_gives_group_writable_entries(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        private = tmp_path / "private"
        with CorruptCache(private) as cache:
            cache.put("ab" * 32, np.zeros(4, dtype=np.float32), {})
            assert stat.S_IMODE(cache.path("ab" * 32).stat().st_mode) == 0o644  # the umask, as for any file
        shared = tmp_path / "shared"
        shared.mkdir()
        shared.chmod(0o2775)
        with CorruptCache(shared) as cache:
            cache.put("cd" * 32, np.zeros(4, dtype=np.float32), {})
            entry = cache.path("cd" * 32)
            assert stat.S_IMODE(entry.stat().st_mode) & 0o060 == 0o060
            assert stat.S_IMODE(entry.parent.stat().st_mode) & 0o070 == 0o070
            assert entry.parent.stat().st_mode & stat.S_ISGID
            assert stat.S_IMODE((shared / INDEX_NAME).stat().st_mode) & 0o060 == 0o060
    finally:
        os.umask(old)


# -- sweeps ----------------------------------------------------------------------------------------
def test_scores_are_byte_identical_with_and_without_the_cache(tmp_path: Path, dataset_dir: Path) -> None:
    plain = sweep(tmp_path, dataset_dir, "plain")
    cold = sweep(tmp_path, dataset_dir, "cold", cache=tmp_path / "cache")
    warm = sweep(tmp_path, dataset_dir, "warm", cache=tmp_path / "cache")
    expected = (plain.out_dir / "scores.csv").read_bytes()
    assert b"gaussian_noise@3" in expected and b"mp3@3" in expected and b"opus@4" in expected
    assert (cold.out_dir / "scores.csv").read_bytes() == expected
    assert (warm.out_dir / "scores.csv").read_bytes() == expected  # measured_snr_db included


def test_a_second_detector_does_no_corruption_work(tmp_path: Path, dataset_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="audiostress")
    n_clips = len(load_dataset(str(dataset_dir)).clips)
    sweep(tmp_path, dataset_dir, "first", cache=tmp_path / "cache", cache_size="50M")
    first = counts(caplog)
    assert first == {"hits": 0, "computed": 3 * n_clips, "stored": 3 * n_clips, "evicted": 0}
    caplog.clear()
    second = sweep(tmp_path, dataset_dir, "second", detector=other_detector(tmp_path), cache=tmp_path / "cache")
    assert counts(caplog) == {"hits": 3 * n_clips, "computed": 0, "stored": 0, "evicted": 0}
    alone = sweep(tmp_path, dataset_dir, "alone", detector=other_detector(tmp_path))
    assert (second.out_dir / "scores.csv").read_bytes() == (alone.out_dir / "scores.csv").read_bytes()


CALLS: list[tuple[str, str]] = []


def counting_work(task: CpuTask) -> CorruptResult:
    """``corrupt_item``, counting the (clip, cell) pairs it is asked to code."""
    CALLS.append(task.key)
    return corrupt_item(task)


def test_the_engine_sends_no_codec_work_to_the_pool_on_hits(tmp_path: Path, dataset_dir: Path) -> None:
    grid = load_grid(grid_path(tmp_path))
    dataset = load_dataset(str(dataset_dir))
    plan = make_plan(dataset.clips, [c.cell_id for c in grid.cells], 0)
    results: dict[str, list[Any]] = {}
    for run, detector in (("first", load_analytic_detector(4)), ("second", other_detector(tmp_path))):
        CALLS.clear()
        rows: list[Any] = []
        with CorruptCache(tmp_path / "engine-cache") as cache, WorkerPool(0) as pool:
            engine = Engine(plan, grid, detector, rows.extend, device=torch.device("cpu"), work=counting_work, cache=cache)
            engine.run(pool)
        results[run] = sorted(rows, key=lambda r: r.key)
        n_codec = sum(1 for c in CALLS if c[1] in CODEC_CELLS)
        assert n_codec == (len(CODEC_CELLS) * len(dataset.clips) if run == "first" else 0)
    snr = {r.key: r.measured_snr_db for r in results["first"]}
    assert {r.key: r.measured_snr_db for r in results["second"]} == snr
    assert all(snr[(c.clip_id, k)] is not None for c in dataset.clips for k in CODEC_CELLS)


def test_plugin_sweeps_pass_the_session_cache_through_and_keep_their_memo_key(tmp_path: Path, dataset_dir: Path) -> None:
    from sweep_fixtures import DETECTOR_SPEC

    from audiostress.testing.fixture import Robustness, Settings
    from audiostress.testing.memo import memo_sweep

    n_clips = len(load_dataset(str(dataset_dir)).clips)
    settings = Settings(store=tmp_path / "store", baseline_dir=tmp_path / "baselines", cache=tmp_path / "session-cache")
    robustness = Robustness("test_x.py::test_x", settings, {}, lambda k, v: None, lambda rows: None)
    kw: dict[str, Any] = dict(input=DETECTOR_INPUT, output=DETECTOR_OUTPUT, batch_size=4, workers=0, report=False, n_bootstrap=20)
    grid = str(grid_path(tmp_path))  # written once: the memo key stamps the file's mtime
    first = robustness.sweep(DETECTOR_SPEC, str(dataset_dir), grid, **kw)
    with CorruptCache(tmp_path / "session-cache") as cache:
        assert cache.entries() == 3 * n_clips  # every corrupted pair went through the session's cache
    # Another cache folder is the same call for the memo: the finished sweep is reopened, nothing is computed.
    again = memo_sweep(settings.store, DETECTOR_SPEC, str(dataset_dir), grid, cache=tmp_path / "other", **kw)
    assert again.out_dir == first.out_dir
    assert not (tmp_path / "other" / "objects").exists()


def test_training_codec_cache_in_a_sweep_cache_folder_shares_its_store(tmp_path: Path) -> None:
    from audiostress.augment.cache import CodecCache
    from audiostress.corruptions import create
    from audiostress.seeding import make_generator
    from audiostress.synth import speech_like

    folder = tmp_path / "one-cache"
    with CorruptCache(folder, max_bytes="10M") as sweep_cache:  # the folder a sweep's --cache made
        node = create("mp3", params={"bitrate_kbps": 32})
        audio = speech_like(0.5, 16000, seed=3)
        training = CodecCache(folder, k=1, seed=0)
        _, first, _, _ = training.run(node, audio, 16000, make_generator(0))
        assert training.misses == 1 and sweep_cache.entries() == 1 and sweep_cache.size_bytes() > 0
        assert not (folder / "entries").exists()  # no private layout beside the shared store
        again = CodecCache(folder, k=1, seed=0)
        _, second, _, _ = again.run(node, audio, 16000, make_generator(0))
        assert again.hits == 1 and torch.equal(first, second)


def test_a_bad_cache_size_is_refused_before_any_work(tmp_path: Path, dataset_dir: Path) -> None:
    with pytest.raises(ValueError, match="cache_size.*'lots'"):
        sweep(tmp_path, dataset_dir, "bad-size", cache=tmp_path / "c", cache_size="lots")
    assert not (tmp_path / "bad-size").exists() and not (tmp_path / "c").exists()


def test_the_sweep_command_fills_the_cache_within_its_size(tmp_path: Path, dataset_dir: Path) -> None:
    from click.testing import CliRunner
    from sweep_fixtures import DETECTOR_SPEC

    from audiostress.cli import main

    args = ["sweep", "--detector", DETECTOR_SPEC, "--data", str(dataset_dir), "--grid", str(grid_path(tmp_path)),
            "--sample-rate", "16000", "--length", "8000", "--pad", "zero", "--crop", "first", "--kind", "score",
            "--higher-is-fake", "--workers", "0", "--batch-size", "4", "--quiet", "--no-report",
            "--cache", str(tmp_path / "cli-cache"), "--cache-size", "200K"]  # fmt: skip
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    with CorruptCache(tmp_path / "cli-cache") as cache:
        assert 0 < cache.size_bytes() <= 200 * 1024 and cache.entries() > 0
    bad = CliRunner().invoke(main, [*args[:-1], "huge", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "cache_size" in bad.output
