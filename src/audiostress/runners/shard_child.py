"""The shard process of ``audiostress.sweep(..., procs=N)``: a resolved sweep config in, one shard swept.

The CLI's ``--procs`` starts each shard as ``audiostress sweep --shard I/N``
with the command's own arguments. The Python API cannot: its detector may be a
loaded ``Detector``, its data a ``Dataset`` and its grid a ``Grid``, none of
which an argument list can carry. So ``launch_sweep`` starts this module
instead and writes the pickled, resolved ``SweepConfig`` to the child's stdin
(never to a file, so nothing in ``--out`` is ever unpickled). A loaded detector
travels as its picklable ``DetectorSpec`` and is rebuilt in the child, as the
Ray actors do. Each child sweeps shard ``I`` of ``N`` into ``OUT/shards/I``
with the launcher's settings (quiet, no report, no error limit); the launcher
merges the shards.

    python -m audiostress.runners.shard_child INDEX COUNT SHARD_OUT < config.pickle
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
import sys
from pathlib import Path
from typing import Any

from ..detectors.portable import portable, rebuild

__all__ = ["child_command", "config_payload", "main"]


def config_payload(config: Any) -> bytes:
    """The pickled config every shard reads; ``TypeError`` naming the part that cannot travel to another process."""
    travelling = dataclasses.replace(config, detector=portable(config.detector))
    for name in ("detector", "data", "grid"):
        try:
            pickle.dumps(getattr(travelling, name))
        except Exception as exc:
            raise TypeError(
                f"procs= runs the sweep in separate processes, which must rebuild the {name}, but it cannot be pickled "
                f"({type(exc).__name__}: {exc}); pass a detector spec, card or load_detector() result, a dataset path "
                "and a grid name or file, or drop procs"
            ) from None
    return pickle.dumps(travelling)


def child_command(index: int, count: int, out: str | Path) -> list[str]:
    """The argument list of shard ``index`` of ``count``, writing into ``out`` (its config comes on stdin)."""
    return [sys.executable, "-m", "audiostress.runners.shard_child", str(index), str(count), str(out)]


def main(argv: list[str] | None = None) -> int:
    """Read the config from stdin and sweep one shard of it; the exit code is 0 unless the sweep raised."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m audiostress.runners.shard_child INDEX COUNT SHARD_OUT < config.pickle", file=sys.stderr)
        return 2
    index, count, out = int(args[0]), int(args[1]), Path(args[2])
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = pickle.loads(sys.stdin.buffer.read())  # written by this process's parent, never read from disk
    from .sweep import run_sweep

    run_sweep(dataclasses.replace(
        config, detector=rebuild(config.detector), shard=f"{index}/{count}", out=out, quiet=True, progress=False, report=False,
        max_errors=None,
    ))  # fmt: skip
    return 0


if __name__ == "__main__":  # pragma: no cover - run by launch_sweep
    sys.exit(main())
