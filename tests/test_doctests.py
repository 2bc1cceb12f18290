"""Every docstring example in the package runs and holds (the same doctests `.ci/run` runs before the tests)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import audiostress


def _modules() -> list[str]:
    names = ["audiostress"]
    for info in pkgutil.walk_packages(audiostress.__path__, prefix="audiostress."):
        names.append(info.name)
    return sorted(names)


MODULES = _modules()


def test_the_package_has_doctests_to_run() -> None:
    found = sum(len(doctest.DocTestFinder().find(importlib.import_module(m))) for m in MODULES)
    assert found > 30 and len(MODULES) > 80


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples failed in {name}"
