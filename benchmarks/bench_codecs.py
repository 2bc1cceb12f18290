"""Codec throughput: PyAV in-process vs an ffmpeg subprocess per clip, and 1 vs 2 workers.

Run: ``python benchmarks/bench_codecs.py [--clips 8] [--repeats 3]``

For mp3, aac and opus at 32 kbps on 4 s, 16 kHz speech-like clips it prints
median seconds per clip for ``backend=pyav`` (in-process) and ``backend=ffmpeg``
(an encode and a decode ffmpeg process per clip, audio over pipes), and the
throughput of ``WorkerPool(1)`` (in-process) against ``WorkerPool(2)`` (two
spawned processes, started and warmed before timing). Targets from the issue:
in-process >= 1.3x faster than subprocess for aac; >= 1.8x from 1 to 2 workers
(which needs two otherwise idle cores). Medians over ``--repeats``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

CODECS = ("mp3", "aac", "opus")
BITRATE_KBPS = 32
SR = 16000
CLIP_S = 4.0


def code_clip(payload: tuple[str, str, np.ndarray]) -> np.ndarray:
    """Module-level work function: code one clip with one codec and backend."""
    import torch

    from audiostress.corruptions import create
    from audiostress.seeding import make_generator

    name, backend, audio = payload
    node = create(name, params={"bitrate_kbps": BITRATE_KBPS, "backend": backend})
    return node.apply(torch.from_numpy(audio), SR, generator=make_generator(0)).numpy()


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8, help="clips per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="repeats (median reported)")
    args = parser.parse_args()

    from audiostress.codecs.provenance import codec_versions
    from audiostress.runners.pool import WorkerPool
    from audiostress.synth import speech_like

    clips = [speech_like(CLIP_S, SR, seed=s).numpy() for s in range(args.clips)]
    print(f"# {args.clips} clips x {CLIP_S:g} s at {SR} Hz, {BITRATE_KBPS} kbps, median of {args.repeats}; "
          f"cpu count {os.cpu_count()}")
    print(f"# {codec_versions()}")
    code_clip((CODECS[0], "pyav", clips[0]))  # import and warm the in-process path
    print(f"{'codec':6} {'pyav s/clip':>12} {'ffmpeg s/clip':>14} {'subproc/inproc':>15}")
    for name in CODECS:
        t_pyav = _median_time(lambda name=name: [code_clip((name, "pyav", c)) for c in clips], args.repeats) / len(clips)
        t_cli = _median_time(lambda name=name: [code_clip((name, "ffmpeg", c)) for c in clips], args.repeats) / len(clips)
        print(f"{name:6} {t_pyav:12.4f} {t_cli:14.4f} {t_cli / t_pyav:14.2f}x")

    print(f"{'codec':6} {'1 worker clips/s':>17} {'2 workers clips/s':>18} {'speed-up':>9}")
    with WorkerPool(1) as one, WorkerPool(2, max_in_flight=4) as two:
        list(two.imap(code_clip, [(n, "pyav", clips[0]) for n in CODECS for _ in range(2)]))  # start + warm workers
        for name in CODECS:
            payloads = [(name, "pyav", c) for c in clips]
            t1 = _median_time(lambda payloads=payloads: list(one.imap(code_clip, payloads)), args.repeats)
            t2 = _median_time(lambda payloads=payloads: list(two.imap(code_clip, payloads)), args.repeats)
            print(f"{name:6} {len(clips) / t1:17.2f} {len(clips) / t2:18.2f} {t1 / t2:8.2f}x")


if __name__ == "__main__":
    main()
