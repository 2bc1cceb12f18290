"""Fixtures for detector tests: a saved tiny model and its direct-forward reference."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import tiny_models  # noqa: E402
from tiny_models import HIDDEN, SEED  # noqa: E402


@pytest.fixture()
def tiny_ckpt(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.pt"
    torch.save(tiny_models.random_state(HIDDEN, SEED), path)
    return path


@pytest.fixture()
def tiny_ref() -> torch.nn.Module:
    return tiny_models.reference(HIDDEN, SEED)


@pytest.fixture()
def tiny_spec() -> str:
    return f"{HERE / 'tiny_models.py'}:build_plain"


@pytest.fixture()
def audio_batch() -> torch.Tensor:
    gen = torch.Generator().manual_seed(3)
    return torch.randn(5, 16000, generator=gen) * 0.2
