"""Sweep progress: counts of (clip, cell) pairs done, an optional rich bar, and a one-line summary.

With ``bar=True`` a rich bar with rate and ETA is drawn on ``stream`` (stderr by
default). Without it nothing is drawn, and the counts are logged at DEBUG on the
``audiostress.progress`` logger at most every ``log_every_s`` seconds. The
summary line is returned as text; the caller decides where it goes.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

logger = logging.getLogger("audiostress.progress")
#: Seconds between DEBUG progress lines when no bar is drawn.
LOG_EVERY_S = 5.0


class Progress:
    """Counts scored, errored and skipped pairs; draws a bar with ``bar=True``."""

    def __init__(
        self,
        total: int,
        *,
        skipped: int = 0,
        label: str = "sweep",
        bar: bool = False,
        stream: TextIO | None = None,
        log_every_s: float = LOG_EVERY_S,
    ) -> None:
        self.total = total
        self.skipped = skipped
        self.scored = 0
        self.errors = 0
        self.label = label
        self.stream = stream or sys.stderr
        self.log_every_s = log_every_s
        self.start = time.perf_counter()
        self._last_log = self.start
        self._bar: Any = None
        self._task: Any = None
        if bar and total > 0:
            self._start_bar(label)

    def _start_bar(self, label: str) -> None:
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
        self._task = self._bar.add_task(f"{label}: clips x cells", total=self.total, rate="")
        self._bar.start()

    @property
    def drawing(self) -> bool:
        """Whether a bar is being drawn."""
        return self._bar is not None

    def advance(self, scored: int = 0, errors: int = 0) -> None:
        """Count newly written pairs; update the bar, or log at DEBUG when it is time."""
        self.scored += scored
        self.errors += errors
        done = self.scored + self.errors
        now = time.perf_counter()
        rate = done / max(now - self.start, 1e-9)
        if self._bar is not None:
            self._bar.update(self._task, completed=done, rate=f"{rate:.1f} pairs/s")
        elif now - self._last_log >= self.log_every_s or done == self.total:
            self._last_log = now
            logger.debug("%s: %d/%d pairs (%d errors), %.1f pairs/s", self.label, done, self.total, self.errors, rate)

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
