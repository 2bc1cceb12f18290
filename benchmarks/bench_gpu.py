"""Detector and torch-corruption throughput by batch size and precision, and a sweep against its bound (printed, not a test).

One script for a GPU machine that also runs on CPU (``--device cpu``, the default
without CUDA). It prints:

1. for batch sizes 1, 8, 32 and 128, fp32 and bf16, with ``torch.compile`` off and
   on (fixed-length detectors only: a whole-clip input changes shape every call):
   windows per second and x real time of the example detector (the TinyAasist
   card) and of every ``--detector`` given, each window ``input.length`` samples
   (4 s for a whole-clip input) through ``Detector.__call__``, which batches as a
   sweep does;
2. the time per cell of the torch corruption family (every registered corruption
   placed on the device, at ``--severity``) on one padded batch of
   ``--corrupt-batch`` clips: ms per batch and per clip;
3. a sweep of the quick grid (``run_sweep``, report off) at the largest batch size
   against max(detector-only time, codec CPU time / cores), the bound of
   ``bench_sweep.py``.

Run:  python benchmarks/bench_gpu.py [--device cuda] [--detector SPEC ...] [--quick]
``--quick`` (about 2 minutes on a 2-core CPU) drops batch 128, compiles only in
fp32 and sweeps 8 clips.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sweep import CARD, lower_bound, write_dataset  # noqa: E402  (the same dataset and bound)

from audiostress.corruptions.registry import available, create  # noqa: E402
from audiostress.data import load_dataset  # noqa: E402
from audiostress.detectors import Detector, load_detector  # noqa: E402
from audiostress.runners.grid import load_grid  # noqa: E402
from audiostress.runners.sweep import SweepConfig, run_sweep  # noqa: E402
from audiostress.seeding import make_generator  # noqa: E402

SR = 16000
#: Window of a whole-clip detector in the throughput table (4 s).
WHOLE_CLIP_S = 4.0


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], Any], device: torch.device, min_s: float, warmup: int = 1) -> float:
    """Seconds per call of ``fn``: ``warmup`` untimed calls, then calls until ``min_s`` has passed (at least 2)."""
    for _ in range(warmup):
        fn()
    sync(device)
    calls, start = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - start < min_s:
        fn()
        calls += 1
    sync(device)
    return (time.perf_counter() - start) / calls


def compiled(det: Detector) -> Detector:
    """The same detector with its model forward under ``torch.compile`` (the benchmark reaches into the wrapper)."""
    forward = torch.compile(det._forward)
    return Detector(forward, name=det.name, input=det.input, output=det.output, device=det.device,
                    precision=det.precision, batch_size=det.batch_size)  # fmt: skip


def detector_rows(spec: str, checkpoint: str | None, args: argparse.Namespace, device: torch.device) -> None:
    base = load_detector(spec, checkpoint=checkpoint, device=str(device))
    length = base.input.length or int(WHOLE_CLIP_S * base.sample_rate)
    fixed = base.input.length is not None
    print(f"\n{base.name}: windows of {length} samples ({length / base.sample_rate:.2f} s) at {base.sample_rate} Hz"
          f"{'' if fixed else ' (whole-clip input: no compile rows)'}")  # fmt: skip
    print(f"  {'batch':>5} {'precision':>9} {'compile':>7} {'windows/s':>10} {'x real time':>11} {'ms/batch':>9}")
    gen = torch.Generator().manual_seed(0)
    for precision in args.precisions:
        for use_compile in (False, True):
            if use_compile and (not fixed or args.no_compile or (args.quick and precision != "fp32")):
                continue
            for batch in args.batch_sizes:
                det = load_detector(spec, checkpoint=checkpoint, device=str(device), precision=precision, batch_size=batch)
                x = (0.1 * torch.randn(batch, length, generator=gen)).to(device)
                try:
                    if use_compile:
                        det = compiled(det)
                    per_call = timed(lambda d=det, x=x: d(x), device, args.min_s, warmup=2 if use_compile else 1)
                except Exception as exc:  # e.g. bf16 or the compiler missing on this machine
                    print(f"  {batch:>5} {precision:>9} {'on' if use_compile else 'off':>7}   failed: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:80]}")  # fmt: skip
                    continue
                wps = batch / per_call
                print(f"  {batch:>5} {precision:>9} {'on' if use_compile else 'off':>7} {wps:>10.1f} "
                      f"{wps * length / base.sample_rate:>11.1f} {per_call * 1e3:>9.2f}")  # fmt: skip


def corruption_rows(args: argparse.Namespace, device: torch.device) -> None:
    gen = torch.Generator().manual_seed(1)
    n, length = args.corrupt_batch, int(args.seconds * SR)
    batch = (0.1 * torch.randn(n, 1, length, generator=gen)).to(device)
    lengths = torch.full((n,), length, dtype=torch.long)
    print(f"\ntorch corruptions on {device}: one batch of {n} clips x {args.seconds:g} s at {SR} Hz, severity {args.severity}")
    print(f"  {'corruption':<22} {'ms/batch':>9} {'ms/clip':>8}")
    total = 0.0
    for name in available():
        try:
            node = create(name, args.severity)
        except Exception:  # noqa: S112 - cascades and corruptions without this severity are not family members here
            continue
        if node.placement != "device":
            continue
        try:
            per_call = timed(lambda node=node: node.apply_items(batch, SR, [make_generator(i) for i in range(n)], lengths),
                             device, args.min_s / 2)  # fmt: skip
        except Exception as exc:  # a corruption that needs files (impulse responses, noise folders)
            print(f"  {name:<22}   skipped: {type(exc).__name__}: {str(exc).splitlines()[0][:70]}")
            continue
        total += per_call
        print(f"  {name:<22} {per_call * 1e3:>9.1f} {per_call * 1e3 / n:>8.2f}")
    print(f"  {'all of them':<22} {total * 1e3:>9.1f} {total * 1e3 / n:>8.2f}")


def sweep_row(args: argparse.Namespace, device: torch.device) -> None:
    batch = max(args.batch_sizes)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        dataset = load_dataset(str(write_dataset(tmp / "data", args.clips, args.seconds)))
        grid = load_grid("quick")
        det = load_detector(str(CARD), batch_size=batch, device=str(device))
        det.score([torch.zeros(1, SR)], SR, clip_ids=["warm-up"])
        start = time.perf_counter()
        run_sweep(SweepConfig(detector=det, data=dataset, grid=grid, out=tmp / "sweep", workers=args.workers,
                              batch_size=batch, device=str(device), quiet=True, report=False))  # fmt: skip
        wall = time.perf_counter() - start
        det_s, codec_s, device_s = lower_bound(dataset, grid, det, args.workers, batch)
    bound = max(det_s, codec_s / cores)
    print(f"\nsweep: {args.clips} clips x {args.seconds:g} s, quick grid ({len(grid)} cells), batch {batch}, "
          f"{args.workers} workers, {cores} cores, detector on {device}")  # fmt: skip
    print(f"  sweep wall time            {wall:8.2f} s")
    print(f"  max(detector, codecs/cores) {bound:7.2f} s  (detector only {det_s:.2f} s, codec CPU {codec_s:.2f} s / {cores}; "
          f"torch corruptions {device_s:.2f} s)")  # fmt: skip
    print(f"  wall / bound = {wall / bound:.2f}")
    if device.type == "cpu":  # the torch corruptions share the cores with the codecs here
        work = (det_s + codec_s + device_s) / min(cores, args.workers + 1)
        print(f"  CPU-work bound             {work:8.2f} s  (detector + codecs + torch corruptions over the cores); "
              f"wall / CPU-work bound = {wall / work:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--detector", action="append", default=[], help="another detector spec or card (repeatable)")
    parser.add_argument("--checkpoint", default=None, help="checkpoint for the --detector specs")
    parser.add_argument("--batch-sizes", default="1,8,32,128")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows")
    parser.add_argument("--corrupt-batch", type=int, default=32, help="clips in the torch-corruption batch")
    parser.add_argument("--severity", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0, help="clip length of the corruption batch and the sweep")
    parser.add_argument("--clips", type=int, default=48, help="clips of the sweep row")
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1)))
    parser.add_argument("--min-s", type=float, default=1.0, help="least seconds timed per row")
    parser.add_argument("--torch-threads", type=int, default=None, help="main-process torch threads (default: torch's)")
    parser.add_argument("--quick", action="store_true", help="about 2 minutes on CPU: batches 1, 8, 32; compile in fp32 only; 8 clips")
    args = parser.parse_args()
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    args.precisions = [p.strip() for p in args.precisions.split(",")]
    if args.quick:
        args.batch_sizes = [b for b in args.batch_sizes if b <= 32] or [1]
        args.min_s, args.clips, args.corrupt_batch = 0.3, 8, min(args.corrupt_batch, 8)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {os.cpu_count()} cores"
    print(f"bench_gpu on {device} ({name}); torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"batch sizes {args.batch_sizes}, precisions {args.precisions}")  # fmt: skip
    for spec in [str(CARD), *args.detector]:
        detector_rows(spec, args.checkpoint if spec != str(CARD) else None, args, device)
    corruption_rows(args, device)
    sweep_row(args, device)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
