"""The sweep process's torch threads: an optional setting for the sweep's duration, and a hint when they crowd the codec workers.

With ``workers >= 2`` the codec workers run one thread each, while the sweep
process scores the detector and runs the device corruptions with torch's own
intra-op threads (by default one per core). On a small CPU-only machine the two
then compete for the cores: measured on 2 cores, ``--workers 2`` on the quick
grid took 7.1–7.6 s with torch's default 2 threads against 5.1–5.6 s with 1.

The thread count is not chosen for the user, because it changes bits: torch
splits some reductions by thread, so the same sweep with 1 and 2 threads gives
scores that differ in their last bits (as two machines with other core counts
do). The default leaves torch as it is, so a sweep's bytes never depend on its
worker count. ``torch_threads`` (``--torch-threads``) sets it for the sweep and
puts the previous value back afterwards, the one change to process state the
sweep makes; provenance records the count a sweep ran with.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import torch

__all__ = ["check_torch_threads", "crowding_hint", "torch_threads"]

logger = logging.getLogger("audiostress.sweep")


def check_torch_threads(value: object) -> None:
    """``ValueError`` unless ``value`` is ``None`` or an integer >= 1."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"Expected --torch-threads >= 1 (or unset: torch's own setting), got {value!r}")


@contextlib.contextmanager
def torch_threads(count: int | None) -> Iterator[int]:
    """Run the block with ``count`` torch intra-op threads (``None``: as they are); yields the count in effect."""
    check_torch_threads(count)
    previous = torch.get_num_threads()
    if count is None or count == previous:
        yield previous
        return
    torch.set_num_threads(count)
    try:
        yield count
    finally:
        torch.set_num_threads(previous)


def crowding_hint(threads: int, workers: int, device: str, cores: int | None = None) -> str | None:
    """A note when ``threads`` torch threads beside ``workers`` codec workers exceed the cores the workers leave
    (at least one), else None.

    >>> crowding_hint(2, 2, "cpu", cores=2)[:60]
    'the sweep process runs 2 torch threads beside 2 codec worker'
    >>> crowding_hint(1, 2, "cpu", cores=2) is None, crowding_hint(8, 2, "cuda", cores=2) is None
    (True, True)
    """
    cores = cores if cores is not None else (os.cpu_count() or 1)
    fit = max(1, cores - workers)
    if workers < 2 or not str(device).startswith("cpu") or threads <= fit:
        return None
    return (
        f"the sweep process runs {threads} torch threads beside {workers} codec workers on {cores} cores; "
        f"--torch-threads {fit} (torch_threads={fit}) is usually faster here. Scores may differ in their last bits "
        "between thread counts, so keep one setting for sweeps you compare byte for byte"
    )
