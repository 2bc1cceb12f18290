"""Training-loader throughput with codec augmentation: does coding starve the GPU?

Setup: N four-second clips in memory (default 256), batch 32, ``num_workers`` 0/1/2,
and a fake training step (a fixed matmul). Rows: no augmentation; audiomentations
``Mp3Compression`` (fast-mp3-augment, quality 7); audiostress mp3 per backend and
quality; the ``artifactnet_4way`` preset; the ``CodecCache`` hit path; and the cache
build cost. Each row prints samples/s, ms per item per core, time blocked waiting
for data, peak RSS per worker; then the cache size on disk and a determinism line
(sha256 of the first 3 batches, ``num_workers`` 0 vs 2). Ratios are taken within
one run, so a busy machine slows every row alike.

    python benchmarks/bench_augment.py                     # the full setup
    python benchmarks/bench_augment.py --clips 64 --workers 0,2
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from audiostress.audio import save
from audiostress.augment import AugmentedDataset, pad_collate
from audiostress.augment.cache import CodecCache, build_cache
from audiostress.augment.interop import from_audiomentations
from audiostress.augment.presets import artifactnet_4way
from audiostress.corruptions import Clean, create
from audiostress.synth import speech_like

SR = 16000
BATCH = 32
KBPS = 128
#: Targets from the issue.
MP3_VS_AUDIOMENTATIONS = 1.2
CACHE_SPEEDUP = 5.0


def collate_with_rss(items):
    batch = pad_collate(items)
    batch.rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # type: ignore[attr-defined]
    return batch


def fake_step(weight: torch.Tensor, audio: torch.Tensor) -> None:
    frames = audio[:, 0, : (audio.shape[-1] // 400) * 400].reshape(audio.shape[0], -1, 400)
    (frames @ weight).relu().mean().item()


def run_row(dataset, workers: int, weight: torch.Tensor) -> dict:
    loader = DataLoader(dataset, batch_size=BATCH, num_workers=workers, collate_fn=collate_with_rss)
    blocked, n, rss = 0.0, 0, 0.0
    start = time.perf_counter()
    it = iter(loader)
    while True:
        t0 = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            break
        blocked += time.perf_counter() - t0
        rss = max(rss, batch.rss_mb)
        n += len(batch)
        fake_step(weight, batch.audio)
    wall = time.perf_counter() - start
    return {"samples_s": n / wall, "ms_item_core": 1000 * wall * max(1, workers) / n, "blocked_s": blocked, "rss_mb": rss}


def digest(dataset, workers: int, batches: int = 3) -> str:
    h = hashlib.sha256()
    for i, batch in enumerate(DataLoader(dataset, batch_size=BATCH, num_workers=workers, collate_fn=pad_collate)):
        if i == batches:
            break
        h.update(batch.audio.numpy().tobytes())
    return h.hexdigest()[:16]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=256)
    parser.add_argument("--workers", default="0,1,2", help="comma-separated num_workers values")
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]
    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix="bench-augment-"))
    clips = [speech_like(4.0, SR, seed=i) for i in range(args.clips)]
    items = [{"audio": c, "sample_rate": SR, "label": i % 2} for i, c in enumerate(clips)]
    paths = []
    for i, c in enumerate(clips):
        paths.append(tmp / "clips" / f"c{i:04d}.wav")
        save(paths[-1], c, SR, subtype="FLOAT")
    from audiomentations import Mp3Compression

    rows = {
        "none": Clean(),
        "audiomentations Mp3Compression (fast-mp3-augment, q7)": from_audiomentations(
            Mp3Compression(min_bitrate=KBPS, max_bitrate=KBPS, backend="fast-mp3-augment", quality=7, p=1.0)),
        "audiostress mp3 pyav default": create("mp3", params={"bitrate_kbps": KBPS}),
        "audiostress mp3 pyav q7": create("mp3", params={"bitrate_kbps": KBPS, "quality": 7}),
        "audiostress mp3 fast_mp3 q7": create("mp3", params={"bitrate_kbps": KBPS, "quality": 7, "backend": "fast_mp3"}),
        "audiostress mp3 ffmpeg q7": create("mp3", params={"bitrate_kbps": KBPS, "quality": 7, "backend": "ffmpeg"}),
        "audiostress mp3 pedalboard (VBR)": create("mp3", params={"bitrate_kbps": KBPS, "backend": "pedalboard"}),
        "artifactnet_4way": artifactnet_4way(),
    }
    weight = torch.randn(400, 256)
    print(f"{args.clips} clips of 4 s, batch {BATCH}, fake step = [B, T/400, 400] @ [400, 256]; torch threads 1")
    print(f"{'row':58s} {'workers':>7s} {'samples/s':>10s} {'ms/item/core':>13s} {'blocked s':>10s} {'peak RSS MB':>12s}")
    results: dict[tuple[str, int], dict] = {}

    def show(name: str, workers: int, r: dict) -> None:
        results[(name, workers)] = r
        print(f"{name:58s} {workers:7d} {r['samples_s']:10.1f} {r['ms_item_core']:13.1f} {r['blocked_s']:10.2f} {r['rss_mb']:12.0f}")
        sys.stdout.flush()

    for name, node in rows.items():
        for w in worker_counts:
            show(name, w, run_row(AugmentedDataset(items, node, seed=0, sample_rate=SR), w, weight))
    cache_dir = tmp / "cache"
    node = artifactnet_4way()
    build_workers = max(worker_counts)
    t0 = time.perf_counter()
    summary = build_cache(paths, [node], out=cache_dir, k=1, sample_rate=SR, seed=0, workers=build_workers)
    build_s = time.perf_counter() - t0
    size_mb = sum(p.stat().st_size for p in cache_dir.rglob("*.streams")) / 1e6
    for w in worker_counts:
        show("CodecCache hit (artifactnet_4way, k=1)", w,
             run_row(AugmentedDataset(items, node, seed=0, sample_rate=SR, cache=CodecCache(cache_dir)), w, weight))
    print(f"cache build: {summary['entries']} entries in {build_s:.1f} s with {build_workers} workers "
          f"({1000 * build_s * max(1, build_workers) / summary['entries']:.1f} ms per entry per core); size on disk {size_mb:.1f} MB")
    det = AugmentedDataset(items, node, seed=0, sample_rate=SR)
    d0, d2 = digest(det, 0), digest(det, 2)
    print(f"determinism: sha256 of the first 3 batches, num_workers 0 {d0} vs 2 {d2}: {'identical' if d0 == d2 else 'DIFFERENT'}")
    w = worker_counts[0]
    am = results[("audiomentations Mp3Compression (fast-mp3-augment, q7)", w)]["ms_item_core"]
    ours = results[("audiostress mp3 fast_mp3 q7", w)]["ms_item_core"]
    pyav_q7 = results[("audiostress mp3 pyav q7", w)]["ms_item_core"]
    fly = results[("audiostress mp3 pyav q7", w)]["ms_item_core"]
    four = results[("artifactnet_4way", w)]["ms_item_core"] - results[("none", w)]["ms_item_core"]
    hit = results[("CodecCache hit (artifactnet_4way, k=1)", w)]["ms_item_core"] - results[("none", w)]["ms_item_core"]
    print(f"target mp3 q7 vs audiomentations, same backend (fast_mp3, workers {w}): {ours / am:.2f}x "
          f"(<= {MP3_VS_AUDIOMENTATIONS}x: {'met' if ours / am <= MP3_VS_AUDIOMENTATIONS else 'MISSED'}); "
          f"pyav q7 (libavcodec, tapeable) {pyav_q7 / am:.2f}x")
    print(f"target cache hit vs coding on the fly (4-way, augmentation cost over no augmentation, workers {w}): "
          f"{four / max(hit, 1e-9):.1f}x faster (>= {CACHE_SPEEDUP}x: {'met' if four / max(hit, 1e-9) >= CACHE_SPEEDUP else 'MISSED'}); "
          f"mp3 q7 alone {fly:.1f} ms/item")
    print(f"target bit-identical batches across worker counts: {'met' if d0 == d2 else 'MISSED'}")
    return 0 if d0 == d2 else 1


if __name__ == "__main__":
    sys.exit(main())
