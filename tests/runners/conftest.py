"""Fixtures of the sweep tests; the helpers themselves live in sweep_fixtures.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_fixtures import write_dataset


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("data") / "clips")
