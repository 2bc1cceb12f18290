"""The shared small dataset layout used by the data tests."""

from __future__ import annotations

from pathlib import Path

#: (relative path, label word, attack) of the shared small dataset.
FILES = [
    ("bonafide/b1.wav", "bonafide", None),
    ("bonafide/b2.flac", "bonafide", None),
    ("bonafide/b3.wav", "bonafide", None),
    ("spoof/A01/s1.wav", "spoof", "A01"),
    ("spoof/A01/s2.wav", "spoof", "A01"),
    ("spoof/A02/s3.flac", "spoof", "A02"),
    ("spoof/s4.wav", "spoof", None),
]


def touch(path: Path) -> Path:
    """Existence is all a dataset checks; a few bytes stand in for audio."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF0000WAVE")
    return path
