"""Small in-memory datasets for the augmentation tests (1-s speech-like clips at 16 kHz)."""

from __future__ import annotations

import torch

from audiostress.synth import speech_like

SR = 16000


class ClipList(torch.utils.data.Dataset):
    """A map-style dataset of dict items with audio, sample rate, label and clip id."""

    def __init__(self, n: int, seconds: float = 1.0) -> None:
        self.items = [
            {"audio": speech_like(seconds, SR, seed=100 + i), "sample_rate": SR, "label": "spoof" if i % 2 else "bonafide",
             "clip_id": f"clip_{i:02d}"}
            for i in range(n)
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]
