"""Bytes depend only on (seed, epoch, global index): any num_workers, persistent workers, DDP rank, resume."""

from __future__ import annotations

import hashlib

import torch
from augment_data import SR
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from audiostress.augment import AugmentedDataset, pad_collate
from audiostress.corruptions import Chain, Maybe, OneOf, create


def _node():
    # CPU codecs with drawn bitrates, then device noise with a drawn SNR: every kind of draw.
    return Chain(
        OneOf([create("clean"), create("mp3", params={"bitrate_kbps": "32..96", "quality": 7})]),
        Maybe(0.5, create("gaussian_noise", params={"snr_db": "10..30"})),
    )


def _digest(loader) -> list[str]:
    out = []
    for batch in loader:
        h = hashlib.sha256(batch.audio.numpy().tobytes())
        h.update(batch.lengths.numpy().tobytes())
        h.update(repr([r["cell"] for r in batch.applied]).encode())
        out.append(h.hexdigest())
    return out


def _dataset(clips, **kw):
    return AugmentedDataset(clips, _node(), seed=7, sample_rate=SR, length=12000, **kw)


def test_workers_0_and_2_are_byte_identical_and_epochs_differ(clips):
    ds = _dataset(clips)
    zero = _digest(DataLoader(ds, batch_size=4, num_workers=0, collate_fn=pad_collate))
    two = _digest(DataLoader(ds, batch_size=4, num_workers=2, collate_fn=pad_collate))
    assert zero == two and len(zero) == 2
    ds.set_epoch(1)
    assert _digest(DataLoader(ds, batch_size=4, collate_fn=pad_collate)) != zero


def test_persistent_workers_follow_set_epoch(clips):
    ds = _dataset(clips)
    loader = DataLoader(ds, batch_size=4, num_workers=2, persistent_workers=True, collate_fn=pad_collate)
    seen = []
    for epoch in range(2):
        ds.set_epoch(epoch)
        seen.append(_digest(loader))
    fresh = _dataset(clips)
    expected = []
    for epoch in range(2):
        fresh.set_epoch(epoch)
        expected.append(_digest(DataLoader(fresh, batch_size=4, collate_fn=pad_collate)))
    assert seen == expected and seen[0] != seen[1]


def test_resumed_epoch_equals_the_original(clips):
    original = _dataset(clips)
    original.set_epoch(3)
    first = [original[i]["audio"] for i in range(len(clips))]
    resumed = _dataset(clips)  # a new process after a restart: only seed and epoch carry over
    resumed.set_epoch(3)
    assert all(torch.equal(a, resumed[i]["audio"]) for i, a in enumerate(first))
    assert torch.equal(resumed[(3, 5)]["audio"], first[5])  # an (epoch, index) key gives the same item


def test_ddp_ranks_give_the_items_of_their_global_indices(clips):
    ds = _dataset(clips)
    alone = {i: ds[i]["audio"] for i in range(len(clips))}
    for rank in range(2):
        sampler = DistributedSampler(ds, num_replicas=2, rank=rank, shuffle=True, seed=0)
        sampler.set_epoch(0)
        indices = list(sampler)
        loader = DataLoader(ds, batch_size=2, sampler=indices, num_workers=1, collate_fn=pad_collate)
        got = [a[:, : int(n)] for batch in loader for a, n in zip(batch.audio, batch.lengths)]
        assert all(torch.equal(alone[i], g) for i, g in zip(indices, got))
