"""User strings reach the figures literally: backslashes stay single, ``$`` does not start mathtext."""

from __future__ import annotations

import re
from pathlib import Path

from fake_sweep import make_sweep

from audiostress.reports import write_report
from audiostress.reports.plots import mpl_text


def _svg_texts(svg: Path) -> list[str]:
    """The strings matplotlib drew (it writes each text as an XML comment before its glyph paths)."""
    return re.findall(r"<!-- (.*?) -->", svg.read_text(encoding="utf-8"))


def test_backslash_and_dollar_labels_survive_unchanged(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "s", n_per_class=4, attacks=("A\\01", "A02$x$"), extra_cell="dir\\name")
    write_report([root])
    heatmap = _svg_texts(root / "plots" / "delta_eer_heatmap.svg")
    assert "dir\\name" in heatmap and "dir\\\\name" not in heatmap
    attacks = _svg_texts(root / "plots" / "attack_matrix.svg")
    assert "A\\01" in attacks and "A02$x$" in attacks
    assert "dir\\name@2" in attacks


def test_mpl_text_only_escapes_dollars() -> None:
    assert mpl_text("C:\\tmp\\$x$") == "C:\\tmp\\\\$x\\$"
