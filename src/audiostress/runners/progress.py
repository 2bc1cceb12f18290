"""Sweep progress: a rich bar of (clip, cell) pairs done with rate and ETA, and a one-line summary.

With ``quiet`` (CI logs) the bar is not drawn; the summary line is still printed.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class Progress:
    """Counts scored, errored and skipped pairs; draws a bar unless ``quiet``."""

    def __init__(self, total: int, *, skipped: int = 0, label: str = "sweep", quiet: bool = False, stream: TextIO | None = None) -> None:
        self.total = total
        self.skipped = skipped
        self.scored = 0
        self.errors = 0
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self._bar: Any = None
        self._task: Any = None
        if not quiet and total > 0:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._task = self._bar.add_task(f"{label}: clips x cells", total=total, rate="")
            self._bar.start()

    def advance(self, scored: int = 0, errors: int = 0) -> None:
        self.scored += scored
        self.errors += errors
        if self._bar is not None:
            done = self.scored + self.errors
            elapsed = max(time.perf_counter() - self.start, 1e-9)
            self._bar.update(self._task, completed=done, rate=f"{done / elapsed:.1f} pairs/s")

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.start

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def summary(self, out_dir: object) -> str:
        """One line: counts, time, rate and where the results are."""
        done = self.scored + self.errors
        rate = done / self.elapsed_s if self.elapsed_s > 0 else 0.0
        return (
            f"audiostress sweep: {self.scored} scored, {self.errors} errors, {self.skipped} already done, "
            f"{self.elapsed_s:.1f} s ({rate:.1f} pairs/s) -> {out_dir}"
        )
