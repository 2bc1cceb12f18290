"""``audiostress cache build`` (the standalone group; cli.py registers it)."""

from __future__ import annotations

import json

from augment_data import SR
from click.testing import CliRunner

from audiostress.audio import save
from audiostress.augment import AugmentedDataset
from audiostress.augment.cache import CodecCache
from audiostress.augment.presets import parse_variant
from audiostress.cli_cache import cache
from audiostress.data import load_dataset


def test_cache_build_fills_every_entry_the_dataset_asks_for(clips, tmp_path):
    for i in range(2):
        save(tmp_path / "data" / "bonafide" / f"b{i}.wav", clips[2 * i]["audio"], SR, subtype="FLOAT")
        save(tmp_path / "data" / "spoof" / f"s{i}.wav", clips[2 * i + 1]["audio"], SR, subtype="FLOAT")
    out = tmp_path / "cache"
    result = CliRunner().invoke(cache, ["build", str(tmp_path / "data"), "--variants", "mp3{bitrate_kbps=64,quality=7}",
                                        "-k", "2", "--out", str(out), "--workers", "2"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["entries"] == 8 and summary["bytes"] > 0
    store = CodecCache(out)
    ds = AugmentedDataset(load_dataset(str(tmp_path / "data")), parse_variant("mp3{bitrate_kbps=64,quality=7}"), seed=0,
                          sample_rate=SR, cache=store)
    [ds[i] for i in range(len(ds))]
    assert (store.hits, store.misses) == (4, 0)
    bad = CliRunner().invoke(cache, ["build", str(tmp_path / "data"), "--variants", "nope@3", "--out", str(out)])
    assert bad.exit_code == 2 and "nope" in bad.output
