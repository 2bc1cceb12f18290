"""Fixtures of the sweep tests; the helpers themselves live in sweep_fixtures.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_fixtures import write_dataset


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("data") / "clips")


@pytest.fixture(scope="session")
def ray_cluster():
    """One small local Ray cluster for the whole test session (the Ray engine tests); skipped without Ray."""
    ray = pytest.importorskip("ray", reason='Ray is not installed: pip install "audiostress[ray]"')
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024**2, log_to_driver=False)
    yield ray
    ray.shutdown()
