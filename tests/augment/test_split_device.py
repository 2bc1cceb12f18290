"""split_by_placement + DeviceAugment equals the whole graph; per-item draws; records reproduce the audio."""

from __future__ import annotations

import pytest
import torch
from augment_data import SR

from audiostress.augment import AugmentedDataset, DeviceAugment, pad_collate, reapply
from audiostress.corruptions import Chain, Clean, Maybe, OneOf, create
from audiostress.seeding import make_generator

#: Device kernels inside a padded batch against the clip alone: the registry's float32 summation tolerance.
ATOL = 1e-5


def _graphs():
    noise = create("gaussian_noise", params={"snr_db": "10..30"})
    mp3 = create("mp3", params={"bitrate_kbps": "32..96", "quality": 7})
    return {
        "chain": Chain(mp3, noise),
        "device_before_codec": Chain(create("low_pass", params={"cutoff_hz": "2000..6000"}), mp3, noise),
        "one_of_mixed": OneOf([Clean(), Chain(mp3, noise), noise, create("aac", params={"bitrate_kbps": 64})]),
        "maybe_mixed": Maybe(0.6, Chain(create("opus", params={"bitrate_kbps": 24}), noise)),
        "nested": Chain(OneOf([Maybe(0.5, Chain(mp3, noise)), create("rawboost_isd")]), noise),
    }


def _whole(node, clip, seed):
    lengths = torch.tensor([clip.shape[-1]])
    return node.apply_items(clip.unsqueeze(0), SR, [make_generator(seed)], lengths)[0]


@pytest.mark.parametrize("name", list(_graphs()))
def test_split_then_device_augment_equals_whole_graph(clips, name):
    node = _graphs()[name]
    ds = AugmentedDataset(clips, node, seed=3, sample_rate=SR)
    items = [ds[i] for i in range(len(clips))]
    batch = DeviceAugment(ds.device_node)(pad_collate(items))
    for i, item in enumerate(items):
        n = int(batch.lengths[i])
        whole = _whole(node, clips[i]["audio"], item["seed"])
        assert torch.allclose(batch.audio[i, :, :n], whole, atol=ATOL), name
        assert torch.equal(batch.audio[i, :, n:], torch.zeros_like(batch.audio[i, :, n:]))
    # The mixed graphs really split: both halves have work, and the halves' choices agree.
    cpu_cells = {r["cell"] for r in batch.applied}
    assert len(cpu_cells) > 1, cpu_cells


def test_one_of_split_draws_the_branch_once(clips):
    node = _graphs()["one_of_mixed"]
    cpu, device = node.split_by_placement()
    assert cpu.label().startswith("decided[cpu]") and device.label().startswith("decided[device]")
    with pytest.raises(RuntimeError, match="DeviceAugment"):
        device(torch.zeros(1, 100), SR, seed=0)


def test_per_item_parameters_differ_within_a_batch(clips):
    node = create("gaussian_noise", params={"snr_db": "5..40"})
    ds = AugmentedDataset(clips, node, seed=1, sample_rate=SR)
    batch = DeviceAugment(ds.device_node)(pad_collate([ds[i] for i in range(len(clips))]))
    snrs = [r["steps"][-1]["params"]["snr_db"] for r in batch.applied]
    assert len(set(snrs)) == len(snrs)
    measured = []
    for i in range(len(clips)):
        clean = clips[i]["audio"]
        noise = batch.audio[i, :, : clean.shape[-1]] - clean
        measured.append(float(10 * torch.log10(clean.pow(2).sum() / noise.pow(2).sum())))
    assert measured == pytest.approx(snrs, abs=1e-3)


def test_device_augment_ignores_train_eval_and_p_switches_it(clips):
    node = create("gaussian_noise", params={"snr_db": 10.0})
    ds = AugmentedDataset(clips, node, seed=1, sample_rate=SR)
    batch = pad_collate([ds[i] for i in range(4)])
    aug = DeviceAugment(ds.device_node)
    on = aug.eval()(batch).audio
    assert torch.equal(on, aug.train()(batch).audio) and not torch.equal(on, batch.audio)
    assert torch.equal(DeviceAugment(ds.device_node, p=0.0)(batch).audio, batch.audio)
    half = DeviceAugment(ds.device_node, p=0.5)(batch)
    changed = [not torch.equal(a, b) for a, b in zip(half.audio, batch.audio)]
    assert changed == [r["cell"] != "clean" for r in half.applied]


def test_applied_records_reproduce_the_audio(clips):
    import json

    from audiostress.augment.presets import artifactnet_4way

    ds = AugmentedDataset(clips, artifactnet_4way(), seed=5, sample_rate=SR, length=12000, p=0.8)
    items = [ds[i] for i in range(len(clips))]
    batch = pad_collate(items)
    json.dumps(batch.applied)  # JSON-able
    codecs = set()
    for i, record in enumerate(batch.applied):
        audio = batch.audio[i, :, : int(batch.lengths[i])]
        assert torch.equal(reapply(record, clips[i]["audio"], SR), audio)
        # The record's cell alone (drawn parameters fixed) gives the same audio: codecs are deterministic.
        steps = [create(s["corruption"], params=s["params"]) for s in record["steps"] if s["corruption"] != "clean"]
        crop = clips[i]["audio"][:, record["crop_start"] : record["crop_start"] + record["length"]]
        again = Chain(*steps)(crop, SR) if steps else crop
        assert torch.equal(again, audio), record["cell"]
        codecs.add(record["codec"])
    assert len(codecs) >= 3, codecs  # several branches drawn across 8 items
