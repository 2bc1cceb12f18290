"""The public-API tests reuse the sweep tests' generated dataset and analytic detector (tests/runners/sweep_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_fixtures import write_dataset

GRID = """
cells:
  - {corruption: gaussian_noise, severity: 3}
  - {corruption: low_pass, severity: 4}
  - {corruption: mp3, severity: 3}
  - {corruption: gain, params: {gain_db: -6}}
"""


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("data") / "clips")


@pytest.fixture(scope="module")
def grid_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("grid") / "grid.yaml"
    path.write_text(GRID)
    return path
