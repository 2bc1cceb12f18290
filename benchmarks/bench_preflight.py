"""What the preflight costs on the demo: its median wall time against the sweep it guards.

Run: ``python benchmarks/bench_preflight.py [--repeats 5] [--grid quick] [--per-class 40]``

Builds the demo's dataset and baseline detector (nothing downloaded), times
``runners.preflight.preflight`` (header scan + 2-clip detector check + every
grid cell on a probe per layout) ``--repeats`` times, then one full sweep with
the preflight switched off, and prints the median preflight time and its ratio
to the sweep's wall time. Torch runs single-threaded, as in the demo.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from audiostress.demo import data, detector
from audiostress.detectors import load_detector
from audiostress.runners.grid import load_grid
from audiostress.runners.preflight import preflight, read_headers
from audiostress.runners.sweep import SweepConfig, resolve_corrupt_rate, resolve_dataset, run_sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="preflight runs (the median is reported)")
    parser.add_argument("--grid", default="quick", help="grid preset or YAML (default: the demo's quick grid)")
    parser.add_argument("--per-class", type=int, default=40, help="demo clips per class (the demo uses 40)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, data.torch_threads(1):
        root = Path(tmp)
        data_dir = data.write_dataset(root / "data", args.per_class, data.EVAL_SEED)
        det = load_detector("audiostress.demo.detector:build", checkpoint=str(detector.ensure_checkpoint(quiet=True)),
                            input=dict(detector.INPUT), output=dict(detector.OUTPUT), name=detector.DETECTOR_NAME)  # fmt: skip
        grid = load_grid(args.grid)
        config = SweepConfig(detector=det, data=str(data_dir), grid=grid, out=root / "sweep", quiet=True, preflight=False)
        dataset = resolve_dataset(config)
        rate = resolve_corrupt_rate(config.corrupt_rate, det)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            preflight(det, dataset.clips, grid.cells, read_headers(dataset.clips), corrupt_rate=rate, device=torch.device("cpu"))
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        run = run_sweep(config)
        sweep_s = time.perf_counter() - start
    median = statistics.median(times)
    print(f"dataset: {len(dataset.clips)} clips, grid {args.grid}: {len(grid.cells)} cells, {run.n_scored} pairs scored")
    print(f"preflight: median {median:.3f} s over {args.repeats} runs (min {min(times):.3f}, max {max(times):.3f})")
    print(f"sweep without preflight: {sweep_s:.2f} s; preflight / sweep = {median / sweep_s:.3f}")


if __name__ == "__main__":
    main()
