"""The sweep process's torch threads: an optional setting for the sweep's duration, and notes when they crowd the
codec workers or differ from the count a resumed store was scored with.

With ``workers >= 2`` the codec workers run one thread each, while the sweep
process scores the detector and runs the device corruptions with torch's own
intra-op threads (by default one per core). On a small CPU-only machine the two
then compete for the cores: measured on 2 cores, ``--workers 2`` on the quick
grid took 7.1–7.6 s with torch's default 2 threads against 5.1–5.6 s with 1.

The thread count is not chosen for the user, because it changes bits: torch
splits some reductions by thread, so the same sweep with 1 and 2 threads gives
scores that differ in their last bits (as two machines with other core counts
do). The default leaves torch as it is, so a sweep's bytes never depend on its
worker count. ``torch_threads`` (``--torch-threads``) sets the count for the
sweep and puts the previous one back afterwards; provenance records the count a
sweep ran with.

Torch's count is process-wide (new threads inherit it), so sweeps that run at
the same time in threads of one process share one setting: the first sets it,
the last one out restores it, one that asks for another count is refused, and
one that asks for none runs with (and records) the count in effect.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import torch

__all__ = ["check_torch_threads", "crowding_hint", "resume_note", "torch_threads", "usable_cores"]

logger = logging.getLogger("audiostress.sweep")


@dataclass
class _Setting:
    count: int
    users: int


_lock = threading.Lock()
_active: _Setting | None = None


def check_torch_threads(value: object) -> None:
    """``ValueError`` unless ``value`` is ``None`` or an integer >= 1."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"Expected --torch-threads >= 1 (or unset: torch's own setting), got {value!r}")


@contextlib.contextmanager
def torch_threads(count: int | None) -> Iterator[int]:
    """Run the block with ``count`` torch intra-op threads (``None``: as they are); yields the count in effect.

    Each block sets the count in its own thread and puts that thread's previous
    count back when it ends (torch keeps the count per thread under OpenMP, and
    new threads start from the last one set). ``RuntimeError`` when a block of
    another thread holds a different count.
    """
    global _active
    check_torch_threads(count)
    with _lock:
        if _active is not None and count is not None and count != _active.count:
            raise RuntimeError(
                f"another sweep in this process runs with {_active.count} torch threads, and torch's thread count "
                f"is process-wide: run this one with torch_threads={_active.count} (or unset), or after it"
            )
        mine = torch.get_num_threads()
        if _active is None:
            _active = _Setting(count if count is not None else mine, 0)
        setting = _active
        setting.users += 1
        if mine != setting.count:
            torch.set_num_threads(setting.count)
    try:
        yield setting.count
    finally:
        with _lock:
            setting.users -= 1
            if setting.users == 0:
                _active = None
            if torch.get_num_threads() != mine:
                torch.set_num_threads(mine)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform tells it, else ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def crowding_hint(threads: int, workers: int, device: str, cores: int | None = None) -> str | None:
    """A note when ``threads`` torch threads beside ``workers`` codec workers exceed the cores the workers leave
    (at least one), else None.

    >>> crowding_hint(2, 2, "cpu", cores=2)[:60]
    'the sweep process runs 2 torch threads beside 2 codec worker'
    >>> crowding_hint(1, 2, "cpu", cores=2) is None, crowding_hint(8, 2, "cuda", cores=2) is None
    (True, True)
    """
    cores = cores if cores is not None else usable_cores()
    fit = max(1, cores - workers)
    if workers < 2 or not str(device).startswith("cpu") or threads <= fit:
        return None
    return (
        f"the sweep process runs {threads} torch threads beside {workers} codec workers on {cores} cores; "
        f"--torch-threads {fit} (torch_threads={fit}) is usually faster here. Scores may differ in their last bits "
        "between thread counts, so keep one setting for sweeps you compare byte for byte"
    )


def resume_note(earlier: object, now: object) -> str | None:
    """A warning when a store resumed now (``now`` threads) was scored with another count (``earlier``), else None.

    >>> resume_note(2, 1)[:52]
    'this store was scored so far with 2 torch threads an'
    >>> resume_note(1, 1) is None, resume_note(None, 4) is None
    (True, True)
    """
    if not isinstance(earlier, int) or not isinstance(now, int) or earlier == now:
        return None
    return (
        f"this store was scored so far with {earlier} torch threads and this run uses {now}: the pairs scored now may "
        f"differ from the earlier ones in their last bits; resume with --torch-threads {earlier} to keep one setting"
    )
