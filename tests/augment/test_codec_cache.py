"""CodecCache: a hit decodes stored bitstreams bit-identically to coding on the fly; misses fall back, logged once."""

from __future__ import annotations

import logging

import torch
from augment_data import SR

from audiostress.audio import save
from audiostress.augment import AugmentedDataset
from audiostress.augment.cache import CodecCache, build_cache, clip_hash, realisation_seed
from audiostress.augment.presets import artifactnet_4way
from audiostress.corruptions import create
from audiostress.seeding import make_generator


def _items(ds):
    return [ds[i] for i in range(len(ds))]


def test_hit_is_bit_identical_to_on_the_fly_and_misses_log_once(clips, tmp_path, caplog):
    node = artifactnet_4way()
    cache = CodecCache(tmp_path / "cache", k=2, seed=4)
    with caplog.at_level(logging.INFO, logger="audiostress.augment"):
        filled = _items(AugmentedDataset(clips, node, seed=1, sample_rate=SR, length=12000, cache=cache))
    assert cache.misses == len(clips) and cache.hits == 0
    assert sum("coding it on the fly" in r.getMessage() for r in caplog.records) == 1
    again = CodecCache(tmp_path / "cache", k=2, seed=4)
    hits = _items(AugmentedDataset(clips, node, seed=1, sample_rate=SR, length=12000, cache=again))
    assert again.hits == len(clips) and again.misses == 0
    for i, (a, b) in enumerate(zip(filled, hits)):
        assert torch.equal(a["audio"], b["audio"]) and a["record"] == b["record"]
        # On the fly without any cache machinery: the plain node on the whole clip with the realisation seed.
        whole = clips[i]["audio"]
        rec = b["record"]
        plain = node.apply_items(whole.unsqueeze(0), SR, [make_generator(rec["seed"])], torch.tensor([whole.shape[-1]]))[0]
        assert torch.equal(plain[:, rec["crop_start"] : rec["crop_start"] + rec["length"]], b["audio"])
        assert rec["seed"] in {realisation_seed(4, clip_hash(whole, SR), r) for r in range(2)}
    assert {r["record"]["codec"] for r in hits} - {None}, "no codec branch was drawn"


def test_key_covers_node_seed_and_content(clips, tmp_path):
    cache = CodecCache(tmp_path / "c", k=1, seed=0)
    content = clip_hash(clips[0]["audio"], SR)
    mp3 = create("mp3", params={"bitrate_kbps": 64})
    keys = {cache.key(content, mp3, 0, SR), cache.key(content, create("mp3", params={"bitrate_kbps": 96}), 0, SR),
            cache.key(content, mp3, 1, SR), CodecCache(tmp_path / "d", k=1, seed=1).key(content, mp3, 0, SR),
            cache.key(clip_hash(clips[1]["audio"], SR), mp3, 0, SR)}
    assert len(keys) == 5


def test_build_with_the_worker_pool_then_every_item_hits(clips, tmp_path):
    paths = []
    for i in range(4):
        path = tmp_path / "data" / f"c{i}.wav"
        save(path, clips[i]["audio"], SR, subtype="FLOAT")
        paths.append(path)
    node = create("mp3", params={"bitrate_kbps": "32..96", "quality": 7})
    summary = build_cache(paths, [node], out=tmp_path / "cache", k=3, sample_rate=SR, seed=2, workers=2)
    assert summary["entries"] == 12 and summary["bytes"] > 0
    cache = CodecCache(tmp_path / "cache")  # k and seed come from cache.json
    assert (cache.k, cache.seed) == (3, 2)
    ds = AugmentedDataset([str(p) for p in paths], node, seed=9, sample_rate=SR, cache=cache)
    cached = _items(ds)
    assert cache.hits == 4 and cache.misses == 0
    fly = _items(AugmentedDataset([str(p) for p in paths], node, seed=9, sample_rate=SR, cache=CodecCache(tmp_path / "new", k=3, seed=2)))
    assert all(torch.equal(a["audio"], b["audio"]) for a, b in zip(cached, fly))


def test_entries_round_trip_and_a_damaged_entry_is_named(tmp_path):
    import pytest

    from audiostress.augment.cache import ENTRY_SUFFIX, pack_streams, unpack_streams

    streams = [bytes(range(256)) * 3, b"", b"\x00\xff"]
    assert unpack_streams(pack_streams(streams)) == streams
    blob = pack_streams(streams)
    for damaged in (blob[:-1], blob + b"x", b"PK\x03\x04" + blob[4:]):
        with pytest.raises(ValueError, match="rebuild the cache"):
            unpack_streams(damaged)
    node = create("mp3", params={"bitrate_kbps": 32})
    cache = CodecCache(tmp_path / "c", k=1)
    audio = torch.zeros(1, 1600) + 0.01
    cache.run(node, audio, SR, make_generator(0))
    (entry,) = (tmp_path / "c").rglob(f"*{ENTRY_SUFFIX}")
    assert unpack_streams(entry.read_bytes())  # one mp3 bitstream stored
    entry.write_bytes(entry.read_bytes()[:-5])
    with pytest.raises(ValueError, match="truncated CodecCache entry"):
        CodecCache(tmp_path / "c", k=1).run(node, audio, SR, make_generator(0))
