"""A folder whose top-level subfolders name the label; deeper subfolders name the attack.

``root/bonafide/x.wav`` -> bona fide, attack None, id ``bonafide/x``;
``root/fake/A01/y.flac`` -> spoof, attack ``A01``, id ``fake/A01/y`` (deeper levels join
with ``/``). Hidden entries are skipped; an unknown top-level folder, or audio lying
directly in the root, is a problem row.
"""

from __future__ import annotations

import os
from pathlib import Path

from .clip import AUDIO_EXTENSIONS, allowed_labels, normalise_label
from .rows import RowCollector


def load_folder(root: Path, rows: RowCollector) -> None:
    """Collect every audio file under the label folders of ``root``."""
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        if entry.is_file():
            if entry.suffix.lower() in AUDIO_EXTENSIONS:
                rows.problem(entry.name, "audio file is not inside a label folder (bonafide/, spoof/, ...)")
            continue
        if normalise_label(entry.name) is None:
            rows.problem(f"{entry.name}/", f"unknown label folder {entry.name!r}; expected {allowed_labels()}")
            continue
        for dirpath, dirnames, filenames in os.walk(entry):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for fname in sorted(filenames):
                if fname.startswith(".") or Path(fname).suffix.lower() not in AUDIO_EXTENSIONS:
                    continue
                rel = Path(dirpath, fname).relative_to(root).as_posix()
                parts = rel.split("/")
                attack = "/".join(parts[1:-1]) or None
                rows.add(rel, rel, entry.name, attack=attack)
