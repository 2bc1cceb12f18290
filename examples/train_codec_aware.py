"""The closed loop on the demo data: train without and with codec augmentation, sweep both, compare codec-pair drift.

1. train the demo baseline (LFCC + logistic regression) on clean clips, then on the
   same clips through ``artifactnet_4way`` (clean / mp3 / aac / opus at 128 kbps,
   one drawn per item and epoch) with ``AugmentedDataset`` + ``DataLoader``;
2. sweep both models on the ``codecs`` grid;
3. print each model's codec-pair mean Δ (per clip, max - min of p_fake over
   wav/mp3/aac/opus) and its ΔEER under mp3.

The last line reads ``codec-pair mean Δ: X -> Y`` (without, then with
augmentation). ``--quick`` uses fewer evaluation clips and epochs (a few minutes
on 2 CPU cores).

    python examples/train_codec_aware.py --quick
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

import audiostress
from audiostress.augment import AugmentedDataset, pad_collate
from audiostress.augment.presets import artifactnet_4way
from audiostress.corruptions import Clean
from audiostress.demo import data, detector
from audiostress.detectors import load_detector

MP3_CELL = "mp3{bitrate_kbps=128}"


def training_items(n_per_class: int) -> list[dict]:
    """The demo's training clips (seeds disjoint from the evaluation set) as dataset items."""
    return [{"audio": c.audio, "sample_rate": data.SAMPLE_RATE, "label": c.label, "clip_id": c.clip_id}
            for c in data.make_clips(n_per_class, data.TRAIN_SEED)]


def augmented_features(model: detector.LfccLogReg, items: list[dict], node, epochs: int, workers: int):
    """Features and labels of every item in every epoch, augmented by ``node`` in the loader workers."""
    ds = AugmentedDataset(items, node, seed=0, sample_rate=data.SAMPLE_RATE)
    feats, labels, cells = [], [], []
    for epoch in range(epochs):
        ds.set_epoch(epoch)
        for batch in DataLoader(ds, batch_size=16, num_workers=workers, collate_fn=pad_collate):
            with torch.no_grad():
                feats.append(model.features(batch.audio[:, 0]).double())
            labels.append(batch.labels.double())
            cells += [r["codec"] or "clean" for r in batch.applied]
    return torch.cat(feats), torch.cat(labels), cells


def fit(items: list[dict], node, epochs: int, workers: int) -> tuple[dict, dict]:
    """Full-batch L-BFGS logistic regression on standardised LFCC statistics (as the demo trains its baseline)."""
    c = detector.TRAIN_CONFIG
    model = detector.build()
    feats, labels, cells = augmented_features(model, items, node, epochs, workers)
    mean, std = feats.mean(dim=0), feats.std(dim=0).clamp_min(1e-6)
    z = (feats - mean) / std
    w = torch.zeros(z.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=c["lbfgs_steps"], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(z @ w + b, labels) + c["l2"] * w.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        model.feature_mean.copy_(mean.float())
        model.feature_std.copy_(std.float())
        model.weight.copy_(w.detach().float())
        model.bias.copy_(b.detach().float())
    counts = {k: cells.count(k) for k in sorted(set(cells))}
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, counts


def sweep(state: dict, name: str, eval_dir: Path, out: Path, workers: int) -> tuple[float, float]:
    """Sweep one model on the ``codecs`` grid; returns (codec-pair mean Δ, ΔEER under mp3)."""
    ckpt = out / f"{name}.pt"
    torch.save(state, ckpt)
    det = load_detector("audiostress.demo.detector:build", checkpoint=str(ckpt), input=dict(detector.INPUT),
                        output=dict(detector.OUTPUT), name=name)
    result = audiostress.sweep(det, str(eval_dir), "codecs", out=out / f"sweep-{name}", workers=workers)
    metrics = json.loads((out / f"sweep-{name}" / "metrics.json").read_text())
    mp3 = result.cell(MP3_CELL)
    return float(metrics["codec_pair"]["mean"]), float(mp3.eer - result.clean.eer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer evaluation clips and epochs (a few minutes)")
    parser.add_argument("--out", type=Path, default=None, help="working folder (default: a temporary one)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader and sweep worker processes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    n_eval, n_train, epochs = (20, 40, 3) if args.quick else (40, 40, 6)
    out = args.out or Path(tempfile.mkdtemp(prefix="codec-aware-"))
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with data.torch_threads(1):
        eval_dir = data.write_dataset(out / "data", n_eval, data.EVAL_SEED)
        items = training_items(n_train)
        results = {}
        for name, node, n_epochs in (("plain", Clean(), 1), ("artifactnet_4way", artifactnet_4way(), epochs)):
            state, counts = fit(items, node, n_epochs, args.workers)
            results[name] = sweep(state, name, eval_dir, out, args.workers)
            print(f"{name}: trained on {sum(counts.values())} items {counts}; codec-pair mean Δ {results[name][0]:.3f}, "
                  f"ΔEER under mp3 {results[name][1]:+.3f}")
    print(f"({2 * n_eval} evaluation clips, {time.perf_counter() - start:.0f} s, outputs in {out})")
    print(f"codec-pair mean Δ: {results['plain'][0]:.3f} -> {results['artifactnet_4way'][0]:.3f}")


if __name__ == "__main__":
    main()
