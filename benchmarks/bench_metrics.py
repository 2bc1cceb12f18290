"""How long ``build_metrics`` takes on a sweep-sized table, and what the bootstrap costs.

Run: ``python benchmarks/bench_metrics.py [--clips 1000] [--cells 50] [--n-bootstrap 1000]``

Prints the wall time of ``build_metrics`` with and without bootstrap CIs, the
vectorised bootstrap per cell, and the speed-up over a naive per-resample loop
(``compute_eer`` on explicitly resampled arrays) measured on a few resamples.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from audiostress.metrics import build_metrics, compute_eer
from audiostress.metrics.bootstrap import resample_weights, weighted_eers


def synthetic(n_clips: int, n_cells: int, seed: int = 0) -> tuple[list[dict], list[dict]]:
    rng = np.random.default_rng(seed)
    spoof = rng.random(n_clips) < 0.5
    cells = [{"cell_id": "clean", "corruption": "clean", "severity": 0, "params": {}, "family": None}]
    cells += [
        {"cell_id": f"c{k}@{k % 5 + 1}", "corruption": f"c{k // 5}", "severity": k % 5 + 1,
         "params": {}, "family": "noise"}
        for k in range(n_cells)
    ]
    rows = []
    for cell in cells:
        raw = rng.normal(size=n_clips) + spoof * (1.5 - 0.2 * cell["severity"])
        for i in range(n_clips):
            rows.append({
                "clip_id": f"clip{i:06d}", "label": "spoof" if spoof[i] else "bonafide",
                "attack": f"A{i % 4}" if spoof[i] else None, "cell_id": cell["cell_id"],
                "corruption": cell["corruption"], "severity": cell["severity"], "raw_score": float(raw[i]),
                "p_fake": float(1 / (1 + np.exp(-raw[i]))), "measured_snr_db": 20.0, "error": None,
            })  # fmt: skip
    return rows, cells


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=1000)
    ap.add_argument("--cells", type=int, default=50)
    ap.add_argument("--n-bootstrap", type=int, default=1000)
    args = ap.parse_args()
    rows, cells = synthetic(args.clips, args.cells)

    t0 = time.perf_counter()
    build_metrics(rows, cells, {}, n_bootstrap=0)
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    build_metrics(rows, cells, {}, n_bootstrap=args.n_bootstrap)
    t_full = time.perf_counter() - t0

    clean = [r for r in rows if r["cell_id"] == "clean"]
    scores = np.array([r["raw_score"] for r in clean])
    labels = np.array([r["label"] == "spoof" for r in clean])
    weights = resample_weights(labels, n=args.n_bootstrap, seed=0)
    t0 = time.perf_counter()
    weighted_eers(scores, labels, weights)
    t_vec = time.perf_counter() - t0
    k = 50
    t0 = time.perf_counter()
    for b in range(k):
        rep = np.repeat(np.arange(scores.size), weights[b])
        compute_eer(scores[rep], labels[rep])
    t_naive = (time.perf_counter() - t0) / k * args.n_bootstrap

    print(f"{args.clips} clips x {args.cells + 1} cells, {args.n_bootstrap} resamples")
    print(f"build_metrics, no bootstrap : {t_plain:7.2f} s")
    print(f"build_metrics, with CIs     : {t_full:7.2f} s  (bootstrap {t_full - t_plain:.2f} s, "
          f"{(t_full - t_plain) / args.cells * 1e3:.0f} ms per cell)")  # fmt: skip
    print(f"EERs of {args.n_bootstrap} resamples: vectorised {t_vec * 1e3:.0f} ms, "
          f"naive loop ~{t_naive * 1e3:.0f} ms (ratio {t_naive / t_vec:.1f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
