"""Dataset records: ``Clip``, ``Problem``, ``Dataset`` and label normalisation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The two normalised labels; the positive class of every metric is ``spoof``.
LABELS = ("bonafide", "spoof")
#: Accepted spellings (case-insensitive) of each label, in folders, manifests and protocols.
BONAFIDE_WORDS = frozenset({"bonafide", "bona-fide", "bona_fide", "bona fide", "real", "human", "genuine"})
SPOOF_WORDS = frozenset({"spoof", "spoofed", "fake", "ai", "generated", "synthetic", "deepfake"})
#: Audio file extensions a folder dataset picks up.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".m4a")


def normalise_label(raw: Any) -> str | None:
    """``"Real"`` -> ``"bonafide"``, ``"FAKE"`` -> ``"spoof"``; None when the word is not recognised."""
    word = str(raw).strip().lower() if raw is not None else ""
    if word in BONAFIDE_WORDS:
        return "bonafide"
    if word in SPOOF_WORDS:
        return "spoof"
    return None


def allowed_labels() -> str:
    """The accepted label words, for error messages."""
    return f"{'|'.join(sorted(BONAFIDE_WORDS))} (bona fide) or {'|'.join(sorted(SPOOF_WORDS))} (spoof)"


@dataclass(frozen=True)
class Clip:
    """One evaluation clip. ``path`` is absolute; audio is loaded later by the sweep."""

    clip_id: str
    path: Path
    label: str
    attack: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """A row that was skipped: ``row`` is ``file:line`` or a path, ``message`` says why."""

    row: str
    message: str

    def __str__(self) -> str:
        return f"{self.row}: {self.message}"


class DatasetError(ValueError):
    """The dataset cannot be used (unreadable, empty, one class only, or a strict-mode problem)."""


@dataclass
class Dataset:
    """Clips plus the problems met while loading, and where they came from."""

    clips: list[Clip]
    problems: list[Problem]
    source: str
    format: str
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.clips)

    def __iter__(self) -> Iterator[Clip]:
        return iter(self.clips)

    def counts(self) -> dict[str, int]:
        """Number of clips per label."""
        c = Counter(clip.label for clip in self.clips)
        return {label: c.get(label, 0) for label in LABELS}

    def describe(self) -> dict[str, Any]:
        """Provenance for metrics.json: source, format, class counts, attacks, problems, subset."""
        counts = self.counts()
        attacks = Counter(c.attack for c in self.clips if c.attack is not None)
        return {
            "source": self.source,
            "format": self.format,
            "n": len(self.clips),
            "n_bonafide": counts["bonafide"],
            "n_spoof": counts["spoof"],
            "attacks": dict(sorted(attacks.items())),
            "problems": len(self.problems),
            "first_problems": [str(p) for p in self.problems[:10]],
            **self.info,
        }
