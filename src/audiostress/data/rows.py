"""Row validation shared by every dataset format: label, root escape, missing file, duplicate id."""

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
        self.strict = strict
        self.clips: list[Clip] = []
        self.problems: list[Problem] = []
        self._ids: dict[str, str] = {}

    def problem(self, row: str, message: str) -> None:
        """Record a bad row (or raise in strict mode)."""
        if self.strict:
            raise DatasetError(f"{row}: {message} (strict mode stops at the first problem)")
        self.problems.append(Problem(row, message))

    def inside_root(self, path_text: str) -> str | None:
        """The normalised absolute path, or None when it escapes the root (``..`` or absolute outside)."""
        full = os.path.normpath(os.path.join(self.root, path_text))
        if full == self.root or full.startswith(self.root.rstrip(os.sep) + os.sep):
            return full
        return None

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
            self.problem(row, f"path {path_text!r} escapes the dataset root {self.root}")
            return
        if not os.path.isfile(full):
            self.problem(row, f"audio file not found: {full}")
            return
        cid = str(clip_id).strip() if clip_id not in (None, "") else default_clip_id(os.path.relpath(full, self.root))
        if cid in self._ids:
            self.problem(row, f"duplicate clip id {cid!r} (first seen at {self._ids[cid]})")
            return
        self._ids[cid] = row
        att = None if attack in (None, "", "-") else str(attack)
        self.clips.append(Clip(clip_id=cid, path=Path(full), label=norm, attack=att, meta=dict(meta or {})))
