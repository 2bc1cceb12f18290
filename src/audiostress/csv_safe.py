"""Spreadsheet-safe text cells for ``scores.csv``.

A spreadsheet (Excel, LibreOffice, Google Sheets) treats a cell whose text starts
with ``=``, ``+``, ``-`` or ``@`` as a formula, and some also act on a leading tab
or carriage return. A clip id such as ``=HYPERLINK(...)`` written as it is would
run when the file is opened. ``escape_cell`` puts one apostrophe (``'``) in front
of such a text; spreadsheets show the text as it was and never evaluate it.

To keep the escaping reversible, a text that already starts with ``'`` gets one
more, so ``unescape_cell(escape_cell(s)) == s`` for every string ``s``. The rule
applies to text columns only (clip ids, labels, attack names, cell ids,
corruption names, error messages, notes); numbers such as a negative
``raw_score`` are written as numbers.

>>> escape_cell("=1+2")
"'=1+2"
>>> escape_cell("-3dB_clip")
"'-3dB_clip"
>>> escape_cell("LA_T_1000137")
'LA_T_1000137'
>>> escape_cell("'quoted")
"''quoted"
>>> unescape_cell("'=1+2")
'=1+2'
>>> unescape_cell("LA_T_1000137")
'LA_T_1000137'
"""

from __future__ import annotations

__all__ = ["FORMULA_STARTS", "escape_cell", "unescape_cell"]

#: First characters that make a spreadsheet cell a formula (or that some spreadsheets strip before one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"
_ESCAPED_STARTS = (*FORMULA_STARTS, _QUOTE)


def escape_cell(text: str) -> str:
    """``text`` with a leading ``'`` when it starts with a formula character or ``'``; otherwise unchanged.

    >>> escape_cell("@SUM(A1)"), escape_cell("")
    ("'@SUM(A1)", '')
    """
    return _QUOTE + text if text.startswith(_ESCAPED_STARTS) else text


def unescape_cell(text: str) -> str:
    """Undo ``escape_cell``: drop exactly one leading ``'`` when ``escape_cell`` would have added it.

    A text that ``escape_cell`` could not have produced (a lone ``'x``) is returned unchanged.

    >>> unescape_cell("''quoted"), unescape_cell("'plain")
    ("'quoted", "'plain")
    """
    if text.startswith(_QUOTE) and text[1:].startswith(_ESCAPED_STARTS):
        return text[1:]
    return text
