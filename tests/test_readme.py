"""The README's Python examples run as written (doctest), with the cache in a temporary folder."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIOSTRESS_CACHE", str(tmp_path / "cache"))
    text = README.read_text(encoding="utf-8")
    assert text.count(">>> ") >= 20, "the README lost its Python API examples"
    result = doctest.testfile(
        str(README), module_relative=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} README examples failed (see the output above)"
    assert result.attempted >= 20
