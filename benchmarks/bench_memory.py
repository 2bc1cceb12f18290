"""Peak memory of a sweep over short clips plus one long clip: padded batches are capped by samples.

Before the cap, a device batch padded every clip of a group to its longest one, so
one long clip among short ones multiplied the memory by the group size. With the
cap (``Engine(max_batch_samples=...)``, default ``work.MAX_BATCH_SAMPLES``) the long
clip runs alone, in chunks where the corruption allows it.

The sweep runs in a child process; its peak RSS is ``getrusage(RUSAGE_CHILDREN)``
(the largest of the child and the processes it waited for: pool workers, encoders).

    python benchmarks/bench_memory.py                       # 1-hour clip, quick grid, default cap
    python benchmarks/bench_memory.py --minutes 10          # a shorter long clip
    python benchmarks/bench_memory.py --minutes 10 --cap 0  # no cap: the behaviour before it
    python benchmarks/bench_memory.py --grid my_grid.yaml --short 20 --workers 2
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The issue's bar for a dataset of short clips plus one 1-hour clip on the quick grid.
LIMIT_GB = 3.0
SR = 16000
SHORT_S = 4.0
#: A cheap windowed detector (4 s windows, 4 s hop), so the figure is the engine's, not a model's.
FACTORY = "import torch\n\ndef build():\n    return lambda x: x.abs().mean(dim=1).log()\n"
#: "No cap": larger than any batch, i.e. every group is one padded batch, as before the cap.
NO_CAP = 1 << 62


def make_dataset(root: Path, minutes: float, n_short: int) -> None:
    import soundfile as sf

    from audiostress.synth import speech_like

    for i in range(n_short):
        label = "bonafide" if i % 2 == 0 else "spoof"
        (root / label).mkdir(parents=True, exist_ok=True)
        sf.write(str(root / label / f"short_{i:02d}.wav"), speech_like(SHORT_S, SR, seed=i).numpy()[0], SR, subtype="FLOAT")
    # The long clip: a 4 s utterance repeated (synthesising an hour directly would dominate the run).
    unit = speech_like(SHORT_S, SR, seed=99).numpy()[0]
    reps = max(1, round(minutes * 60 / SHORT_S))
    with sf.SoundFile(str(root / "bonafide" / "long.wav"), "w", SR, 1, subtype="FLOAT") as f:
        for _ in range(reps):
            f.write(unit)


def child(args: argparse.Namespace) -> None:
    """Run the sweep (in the child process) and print its summary as JSON."""
    from audiostress.detectors import load_detector
    from audiostress.runners.sweep import SweepConfig, run_sweep

    work = Path(args.work)
    detector = load_detector(f"{work / 'model.py'}:build", input={"sample_rate": SR, "length": 64000, "hop": 64000, "pad": "zero"},
                             output={"kind": "score", "higher_is_fake": True}, batch_size=16)  # fmt: skip
    config = SweepConfig(detector=detector, data=str(work / "data"), grid=args.grid, out=work / "out", quiet=True,
                         report=False, n_bootstrap=20, workers=args.workers)  # fmt: skip
    cap = args.cap or NO_CAP
    if "max_batch_samples" in SweepConfig.__dataclass_fields__:
        config = SweepConfig(**{**config.__dict__, "max_batch_samples": cap})
    else:  # the sweep front does not pass a cap (yet): change the engine's default in this child process only
        from audiostress.runners.engine import Engine

        Engine.__init__.__kwdefaults__ = {**(Engine.__init__.__kwdefaults__ or {}), "max_batch_samples": cap}
    start = time.perf_counter()
    res = run_sweep(config)
    print(json.dumps({"scored": res.n_scored, "errors": res.n_errors, "seconds": round(time.perf_counter() - start, 1)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the long clip (default 60)")
    parser.add_argument("--short", type=int, default=15, help="number of 4 s clips besides the long one (default 15)")
    parser.add_argument("--grid", default="quick", help="preset or grid YAML (default quick)")
    parser.add_argument("--cap", type=int, default=None, help="max_batch_samples; 0 = no cap (the old behaviour)")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    from audiostress.runners.work import MAX_BATCH_SAMPLES

    cap = MAX_BATCH_SAMPLES if args.cap is None else args.cap
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        work = Path(tmp)
        make_dataset(work / "data", args.minutes, args.short)
        (work / "model.py").write_text(FACTORY)
        cmd = [sys.executable, __file__, "--child", "--work", str(work), "--grid", args.grid, "--cap", str(cap),
               "--workers", str(args.workers)]  # fmt: skip
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e9  # ru_maxrss is KiB on Linux
    summary = json.loads(out.strip().splitlines()[-1])
    cap_text = "none" if cap == 0 else f"{cap:,} samples"
    verdict = "under" if peak_gb < LIMIT_GB else "OVER"
    print(f"grid {args.grid}, {args.short} x {SHORT_S:g} s + 1 x {args.minutes:g} min at {SR} Hz, cap {cap_text}, "
          f"workers {args.workers}: peak RSS {peak_gb:.2f} GB ({verdict} {LIMIT_GB:g} GB), "
          f"{summary['scored']} scored, {summary['errors']} errors, {summary['seconds']} s")  # fmt: skip


if __name__ == "__main__":
    main()
