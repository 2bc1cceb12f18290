"""One writer per sweep directory: an exclusive ``flock`` on ``OUT/.audiostress.lock``.

A sweep (and ``audiostress merge`` into its OUT) holds the lock for the whole
run. The file holds the holder's pid, host and start time as JSON, so a second
sweep on the same directory is refused with a message that names the running
one. The lock is the kernel's (``fcntl.flock``): it goes away with the holding
process, even after ``kill -9``, so a stale file never blocks a resume. The file
itself is left in place (deleting it would let two processes lock two
different files of the same name).

>>> import tempfile
>>> from pathlib import Path
>>> out = Path(tempfile.mkdtemp())
>>> with SweepLock(out) as lock:
...     lock.path.name
'.audiostress.lock'
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import socket
from pathlib import Path
from types import TracebackType
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("audiostress.sweep")

LOCK_NAME = ".audiostress.lock"


class SweepLockedError(RuntimeError):
    """Another process holds the sweep directory; ``holder`` is what its lock file says."""

    def __init__(self, out: Path, holder: dict[str, Any]) -> None:
        self.out = out
        self.holder = holder
        who = (
            f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')} since {holder.get('since', '?')}"
            if holder
            else "another process (its lock file is empty)"
        )
        super().__init__(
            f"{out} is in use by another sweep ({who}); wait for it to finish, stop it, or pass another --out"
        )


class SweepLock:
    """Context manager holding the exclusive lock on ``out`` (created if missing) until exit.

    ``acquire`` raises ``SweepLockedError`` at once (no waiting) when another
    process holds it. On systems without ``fcntl`` it logs and holds nothing.
    """

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.out = Path(out)
        self.path = self.out / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> SweepLock:
        """Take the lock and record this process in the file; see the class docstring."""
        if self._fd is not None:
            return self
        self.out.mkdir(parents=True, exist_ok=True)
        if fcntl is None:  # pragma: no cover
            logger.debug("no fcntl on this system: %s is not locked", self.out)
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(self.path)
            os.close(fd)
            raise SweepLockedError(self.out, holder) from None
        except OSError:
            os.close(fd)
            raise
        since = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": since})
        os.ftruncate(fd, 0)
        os.pwrite(fd, record.encode("utf-8"), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Empty the file and drop the lock (the file stays; see the module docstring)."""
        fd, self._fd = self._fd, None
        if fd is None or fcntl is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:  # a full disk must not hide the sweep's own outcome
            pass
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> SweepLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def read_holder(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The holder recorded in a lock file (``{}`` when it is empty or unreadable)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
