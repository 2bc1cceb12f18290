"""EnCodec re-encoding: one batched forward pass against one pass per clip.

Prints the speed-up of coding B clips as one batch over coding them one at a
time, for the 24 kHz and 48 kHz models. Speed does not depend on the weights, so
the real architecture runs with untrained weights (no download needed).

    python benchmarks/bench_encodec.py [--clips 8] [--seconds 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch

from audiostress.codecs.encodec import encodec_roundtrip
from audiostress.synth import speech_like

SR = 16000


def _untrained(model_rate: int, device: str):
    from encodec import EncodecModel

    factory = EncodecModel.encodec_model_24khz if model_rate == 24000 else EncodecModel.encodec_model_48khz
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.manual_seed(0)
        return factory(pretrained=False).eval().to(device)


def _best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    x = torch.stack([speech_like(args.seconds, SR, seed=s) for s in range(args.clips)]).to(args.device)
    for rate, chunk_s in ((24000, 10.0), (48000, 1.0)):
        model = _untrained(rate, args.device)
        encodec_roundtrip(model, x[:1], SR, 6.0, chunk_s)  # warm-up

        def batched_pass(model: object = model, chunk_s: float = chunk_s) -> None:
            encodec_roundtrip(model, x, SR, 6.0, chunk_s)

        def per_clip_pass(model: object = model, chunk_s: float = chunk_s) -> None:
            for i in range(args.clips):
                encodec_roundtrip(model, x[i : i + 1], SR, 6.0, chunk_s)

        batched = _best_of(batched_pass, args.repeats)
        per_clip = _best_of(per_clip_pass, args.repeats)
        audio_s = args.clips * args.seconds
        print(
            f"encodec_{rate // 1000}k on {args.device}: {args.clips} x {args.seconds:g} s clips | "
            f"batched {audio_s / batched:.1f}x real time, per clip {audio_s / per_clip:.1f}x real time | "
            f"batched/per-clip speed-up {per_clip / batched:.2f}x"
        )


if __name__ == "__main__":
    main()
