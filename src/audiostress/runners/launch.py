"""``audiostress sweep --procs N [--gpus LIST]``: one plan in N shard processes on this machine, merged at the end.

``launch_sweep`` starts shard ``i`` of ``N`` as its own ``audiostress sweep
--shard i/N --out OUT/shards/i ...`` process (an argument list, never a shell
string), each in its own process group and, with ``gpus``, pinned to one device
through ``CUDA_VISIBLE_DEVICES`` (round robin when there are more processes than
devices). Shards take whole clip groups, so each (group, cell) is scored with
the same composition as in one process, and the existing merge
(``merge.merge_sweeps``) writes into ``OUT`` exactly what one process writes:
``scores.csv`` is byte-identical for a fixed batch size.

While the shards run, one combined progress bar (``Progress``) counts the rows
in the shard stores (polled read-only). A shard's stderr goes to
``OUT/shards/i.log``; a shard that fails stops the others and raises
``LaunchError`` naming it, its exit code and the last line of its log.

Ctrl-C or SIGTERM stops every shard: each process group gets SIGTERM, and
SIGKILL after ``STOP_GRACE_S``. Every (group, cell) is one SQLite transaction
in its shard's store, so running the same command again resumes each shard
where it stopped and then merges.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

from .lock import SweepLock
from .merge import merge_sweeps
from .outcome import error_groups, failed_pairs, parse_max_errors, sweep_warnings, too_many_errors
from .progress import Progress
from .store import STORE_NAME

__all__ = [
    "SHARDS_DIR", "STOP_GRACE_S", "LaunchError", "launch_sweep", "parse_gpus", "shard_command", "shard_dir", "shard_env",
    "stored_counts",
]  # fmt: skip

logger = logging.getLogger("audiostress.sweep")

#: Where the shard sweeps live inside ``--out``: ``OUT/shards/1``, ``OUT/shards/2``, ...
SHARDS_DIR = "shards"
#: Seconds a stopped shard gets between SIGTERM and SIGKILL.
STOP_GRACE_S = 10.0
#: Seconds between two looks at the shard stores.
POLL_S = 0.5


class LaunchError(RuntimeError):
    """A shard process failed; the other shards were stopped and their stores resume."""


def parse_gpus(text: str | Sequence[str] | None) -> list[str]:
    """``"0,1,3"`` -> ``["0", "1", "3"]`` (device indices or UUIDs, as ``CUDA_VISIBLE_DEVICES`` takes them).

    >>> parse_gpus("0, 1,3"), parse_gpus(None)
    (['0', '1', '3'], [])
    """
    if text is None:
        return []
    items = [t.strip() for t in (text.split(",") if isinstance(text, str) else text)]
    if not items or any(not t or any(ch.isspace() for ch in t) for t in items):
        raise ValueError(f"Expected --gpus as a comma-separated list of device indices (e.g. 0,1,2,3), got {text!r}")
    if len(set(items)) != len(items):
        raise ValueError(f"--gpus {text}: a device is listed twice; give each GPU once")
    return items


def shard_dir(out: str | os.PathLike[str], index: int) -> Path:
    """The sweep directory of shard ``index`` (1-based): ``OUT/shards/INDEX``."""
    return Path(out) / SHARDS_DIR / str(index)


def shard_command(sweep_args: Sequence[str], out: str | os.PathLike[str], index: int, count: int) -> list[str]:
    """The argument list of shard ``index`` of ``count``: the sweep's arguments plus shard, out, quiet, no error limit, no report.

    ``sweep_args`` must not hold ``--out``, ``--shard``, ``--procs`` or ``--gpus``;
    the launcher applies ``--max-errors`` to the merged result instead.
    """
    return [
        sys.executable, "-m", "audiostress.cli", "sweep", *sweep_args, "--shard", f"{index}/{count}",
        "--out", str(shard_dir(out, index)), "--quiet", "--max-errors", "100%", "--no-report",
    ]  # fmt: skip


def shard_env(base: Mapping[str, str], gpus: Sequence[str], index: int) -> dict[str, str]:
    """The environment of shard ``index`` (1-based): ``base`` with ``CUDA_VISIBLE_DEVICES`` pinned round robin.

    >>> shard_env({}, ["0", "1"], 3)
    {'CUDA_VISIBLE_DEVICES': '0'}
    """
    env = dict(base)
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = gpus[(index - 1) % len(gpus)]
    return env


def stored_counts(out: str | os.PathLike[str], index: int) -> tuple[int, int]:
    """(rows, error rows) in shard ``index``'s store, read-only; (0, 0) while it does not exist or is busy."""
    path = shard_dir(out, index) / STORE_NAME
    if not path.is_file():
        return 0, 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.2)) as conn:
            rows, errors = conn.execute("SELECT COUNT(*), COUNT(error) FROM scores").fetchone()
    except sqlite3.Error:
        return 0, 0
    return int(rows), int(errors)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Within the block SIGTERM raises ``KeyboardInterrupt`` like Ctrl-C (main thread only; restored after)."""
    if sys.platform == "win32" or not _on_main_thread():  # pragma: no cover
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _on_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


class _Shards:
    """The running shard processes, their logs, and how to stop them all."""

    def __init__(
        self, out: Path, sweep_args: Sequence[str], procs: int, gpus: Sequence[str], env: Mapping[str, str] | None,
        payload: bytes | None = None,
    ) -> None:  # fmt: skip
        self.out, self.procs = out, procs
        self.children: list[subprocess.Popen[bytes]] = []
        self.logs: list[IO[bytes]] = []
        base = dict(os.environ if env is None else env)
        (out / SHARDS_DIR).mkdir(parents=True, exist_ok=True)
        for i in range(1, procs + 1):
            child_env = shard_env(base, gpus, i)
            log = self.log_path(i).open("wb")
            self.logs.append(log)
            if payload is None:
                command, stdin = shard_command(sweep_args, out, i, procs), subprocess.DEVNULL
            else:
                from .shard_child import child_command

                command, stdin = child_command(i, procs, shard_dir(out, i)), subprocess.PIPE
            child = subprocess.Popen(command, stdin=stdin, stdout=log, stderr=log, env=child_env, start_new_session=True)
            self.children.append(child)
            if payload is not None and child.stdin is not None:
                with contextlib.suppress(BrokenPipeError):  # a child that died at once shows in its log
                    child.stdin.write(payload)
                child.stdin.close()
        logger.debug("started %d shard processes under %s", procs, out / SHARDS_DIR)

    def log_path(self, index: int) -> Path:
        return self.out / SHARDS_DIR / f"{index}.log"

    def failed(self) -> tuple[int, int] | None:
        """(shard index, exit code) of the first shard that ended with an error, else None."""
        for i, child in enumerate(self.children, start=1):
            code = child.poll()
            if code not in (None, 0):
                return i, int(code)
        return None

    def running(self) -> bool:
        return any(child.poll() is None for child in self.children)

    def counts(self) -> tuple[int, int]:
        pairs = [stored_counts(self.out, i) for i in range(1, self.procs + 1)]
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)

    def last_line(self, index: int) -> str:
        lines = [ln for ln in self.log_path(index).read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
        return lines[-1].strip() if lines else "(no output)"

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM every shard's process group, SIGKILL what is left after ``grace_s``; wait for all."""
        for child in self.children:
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for child in self.children:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        self.close_logs()

    def close_logs(self) -> None:
        for log in self.logs:
            log.close()


def launch_sweep(
    sweep_args: Sequence[str],
    out: str | os.PathLike[str],
    *,
    procs: int | None = None,
    gpus: str | Sequence[str] | None = None,
    total: int = 0,
    progress: bool = False,
    label: str = "sweep",
    max_errors: int | str | None = None,
    report: bool = True,
    n_bootstrap: int = 1000,
    reference: dict[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config: Any = None,
) -> Any:
    """Run one sweep as ``procs`` shard processes and merge them into ``out``; returns a ``SweepRun``.

    ``sweep_args``: the ``audiostress sweep`` arguments without ``--out``,
    ``--shard``, ``--procs`` and ``--gpus``; or, from the Python API, ``config``:
    a resolved ``SweepConfig`` that each shard process receives pickled on its
    stdin (``shard_child.py``; ``sweep_args`` is then ignored). ``procs`` defaults to the number of
    ``gpus``; ``total`` is the sweep's pair count, for the bar. Holds the lock
    on ``out`` for the whole run. Raises ``LaunchError`` when a shard fails,
    ``KeyboardInterrupt`` after stopping every shard on Ctrl-C or SIGTERM, and
    ``TooManyErrorsError`` (after merging) when ``max_errors`` is exceeded.
    """
    from .sweep import SweepRun, TooManyErrorsError

    devices = parse_gpus(gpus)
    count = procs if procs is not None else len(devices)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"Expected --procs >= 1 (or a --gpus list), got {procs!r}")
    limit = parse_max_errors(max_errors) if max_errors is not None else None
    payload = None
    if config is not None:
        from .shard_child import config_payload

        payload = config_payload(config)
    out_dir = Path(out)
    start = time.perf_counter()
    with SweepLock(out_dir), _sigterm_as_interrupt():
        shards = _Shards(out_dir, sweep_args, count, devices, env, payload)
        try:
            bar = _watch(shards, total, progress, label)
        except BaseException:
            shards.stop()
            raise
        shards.close_logs()
        metrics = merge_sweeps(out_dir, [shard_dir(out_dir, i) for i in range(1, count + 1)],
                               n_bootstrap=n_bootstrap, reference=reference, report=report)  # fmt: skip
    failed, pairs = failed_pairs(metrics)
    report_path = out_dir / "report.html"
    run = SweepRun(
        out_dir, bar.scored, bar.errors, bar.skipped, metrics, time.perf_counter() - start,
        report_path if report_path.is_file() else None, failed, pairs, error_groups(metrics), sweep_warnings(metrics),
    )  # fmt: skip
    logger.info("audiostress sweep: %d pairs (%d failed) from %d shard processes in %.1f s -> %s",
                pairs, failed, count, run.elapsed_s, out_dir)  # fmt: skip
    if limit is not None and max_errors is not None and too_many_errors(failed=failed, total=pairs, limit=limit):
        raise TooManyErrorsError(run, max_errors)
    return run


def _watch(shards: _Shards, total: int, progress: bool, label: str) -> Progress:
    """Poll the shards until all have ended, drawing the combined bar; raises ``LaunchError`` on a failed shard."""
    rows, errors = shards.counts()
    bar = Progress(max(total - rows, 0), skipped=rows, label=label, bar=progress)
    try:
        while True:
            failure = shards.failed()
            if failure is not None:
                index, code = failure
                shards.stop()
                raise LaunchError(
                    f"shard {index}/{shards.procs} failed (exit {code}): {shards.last_line(index)}; the other shards were "
                    f"stopped (log: {shards.log_path(index)}); fix the cause and run the same command to resume"
                )
            now_rows, now_errors = shards.counts()
            new_errors = max(now_errors - errors, 0)
            bar.advance(scored=max(now_rows - rows - new_errors, 0), errors=new_errors)
            rows, errors = max(rows, now_rows), now_errors
            if not shards.running() and shards.failed() is None:
                return bar
            time.sleep(POLL_S)
    finally:
        bar.close()
