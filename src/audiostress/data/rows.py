"""Row validation shared by every dataset format.

Checks, in order: the label, a path escaping the root, a missing file, a
duplicate clip id, and the same file listed twice. Paths are resolved
(``os.path.realpath``, so symlinks are followed) before the root check: a symlink
inside the root that points outside it is a problem row and is never opened. The
same file reached under two clip ids (two rows, or a symlink to a listed file) is
a problem too, since it would count one recording twice.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from .clip import Clip, DatasetError, Problem, allowed_labels, normalise_label


def default_clip_id(relative: str) -> str:
    """A relative path without its extension, with ``/`` separators (``spoof/A01/x.wav`` -> ``spoof/A01/x``)."""
    posix = PurePosixPath(relative.replace("\\", "/"))
    return str(posix.with_suffix("")) if posix.suffix else str(posix)


class RowCollector:
    """Accumulates Clips and Problems; in strict mode the first problem raises ``DatasetError``."""

    def __init__(self, root: str | os.PathLike[str], *, strict: bool) -> None:
        self.root = os.path.normpath(os.path.abspath(root))
        self.real_root = os.path.realpath(self.root)
        self.strict = strict
        self.clips: list[Clip] = []
        self.problems: list[Problem] = []
        self._ids: dict[str, str] = {}
        self._files: dict[str, tuple[str, str]] = {}  # resolved path -> (clip id, row)

    def problem(self, row: str, message: str) -> None:
        """Record a bad row (or raise in strict mode)."""
        if self.strict:
            raise DatasetError(f"{row}: {message} (strict mode stops at the first problem)")
        self.problems.append(Problem(row, message))

    def inside_root(self, path_text: str) -> str | None:
        """The normalised absolute path, or None when it escapes the root.

        A path escapes with ``..``, as an absolute path elsewhere, or through a
        symlink (of the file or of a folder on the way) that resolves outside the root.
        """
        full = os.path.normpath(os.path.join(self.root, path_text))
        if not _within(full, self.root) or not _within(os.path.realpath(full), self.real_root):
            return None
        return full

    def add(
        self,
        row: str,
        path_text: Any,
        label: Any,
        *,
        attack: Any = None,
        clip_id: Any = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        """Validate one row and keep it as a Clip, or record why not."""
        norm = normalise_label(label)
        if norm is None:
            self.problem(row, f"unknown label {label!r}; expected {allowed_labels()}")
            return
        if not isinstance(path_text, str) or not path_text.strip():
            self.problem(row, f"missing audio path (got {path_text!r})")
            return
        path_text = path_text.strip()
        full = self.inside_root(path_text)
        if full is None:
            real = os.path.realpath(os.path.join(self.root, path_text))
            via = f" (it resolves to {real})" if real != os.path.normpath(os.path.join(self.root, path_text)) else ""
            self.problem(row, f"path {path_text!r} escapes the dataset root {self.root}{via}; it is not read")
            return
        if not os.path.isfile(full):
            self.problem(row, f"audio file not found: {full}")
            return
        cid = str(clip_id).strip() if clip_id not in (None, "") else default_clip_id(os.path.relpath(full, self.root))
        if cid in self._ids:
            self.problem(row, f"duplicate clip id {cid!r} (first seen at {self._ids[cid]})")
            return
        real = os.path.realpath(full)
        if real in self._files:
            first_id, first_row = self._files[real]
            self.problem(
                row, f"file {real} is already listed as clip {first_id!r} (at {first_row}); one recording under two "
                f"clip ids would count twice, so {cid!r} is skipped"
            )  # fmt: skip
            return
        self._ids[cid] = row
        self._files[real] = (cid, row)
        att = None if attack in (None, "", "-") else str(attack)
        self.clips.append(Clip(clip_id=cid, path=Path(full), label=norm, attack=att, meta=dict(meta or {})))


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
