"""Shared fixtures: deterministic test signals and per-item generators."""

from __future__ import annotations

import pytest
import torch

from audiostress.seeding import make_generator
from audiostress.synth import speech_like

SR = 16000


@pytest.fixture(scope="session")
def sr() -> int:
    return SR


@pytest.fixture(scope="session")
def speech_4s() -> torch.Tensor:
    """A 4 s speech-like mono clip [1, T] at 16 kHz."""
    return speech_like(4.0, SR, seed=0)


@pytest.fixture(scope="session")
def speech_batch() -> torch.Tensor:
    """Three different 1 s speech-like clips as [3, 1, T]."""
    return torch.stack([speech_like(1.0, SR, seed=s) for s in (1, 2, 3)])


def gens(*seeds: int) -> list[torch.Generator]:
    return [make_generator(s) for s in seeds]
