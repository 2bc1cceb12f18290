"""Spreadsheet-safe cells: formula starts are escaped, and escaping round-trips every string."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audiostress.csv_safe import FORMULA_STARTS, escape_cell, unescape_cell


@pytest.mark.parametrize("start", [*FORMULA_STARTS, "'"])
def test_formula_starts_get_one_quote(start: str) -> None:
    text = start + "HYPERLINK(\"http://x\")"
    assert escape_cell(text) == "'" + text
    assert unescape_cell(escape_cell(text)) == text


@pytest.mark.parametrize("text", ["", "LA_T_1000137", "bonafide", "mp3@3", "a=b", "x-1", " =1", "'"[1:]])
def test_plain_text_unchanged(text: str) -> None:
    assert escape_cell(text) == text
    assert unescape_cell(text) == text


def test_lone_quote_is_not_unescaped() -> None:
    # escape_cell never produces "'x", so it stays as it is
    assert unescape_cell("'x") == "'x"
    assert escape_cell("'x") == "''x"


@given(st.text())
def test_round_trip(text: str) -> None:
    escaped = escape_cell(text)
    assert unescape_cell(escaped) == text
    assert not escaped.startswith(FORMULA_STARTS)


@given(st.text())
def test_escaped_differs_by_at_most_one_quote(text: str) -> None:
    escaped = escape_cell(text)
    assert escaped in (text, "'" + text)
