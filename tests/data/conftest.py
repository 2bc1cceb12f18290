"""A small dataset on disk, laid out so every format can describe the same clips."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dataset_files import FILES, touch  # noqa: E402


@pytest.fixture()
def small_root(tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    for rel, _, _ in FILES:
        touch(root / rel)
    return root
