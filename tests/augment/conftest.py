"""Fixtures of the augmentation tests."""

from __future__ import annotations

import pytest
from augment_data import ClipList


@pytest.fixture(scope="session")
def clips() -> ClipList:
    return ClipList(8)
