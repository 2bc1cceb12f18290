"""Codec-pair Δ that was not measured reads n/a (never FAIL) with its note; malformed gates do not crash the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fake_sweep import make_sweep

from audiostress.reports import write_report
from audiostress.reports.load import load_sweep
from audiostress.reports.tables import codec_pair


def _codec_table(page: str) -> str:
    """The codec-pair table and its note, up to the coverage line."""
    return page.split('class="small codec-pair"')[1].split("<strong>Coverage</strong>")[0]


def test_not_measured_codec_pair_is_na_with_its_note(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "s", n_per_class=4, codec_pair_cells=("clean", "mp3@1", "opus@9"))
    block = json.loads((root / "metrics.json").read_text())["codec_pair"]
    assert block["pass"] is None and block["mean"] is None and "opus@9" in block["note"]
    cp = codec_pair(load_sweep(root))
    assert (cp["pass_mean"], cp["pass_max"], cp["pass"]) == (None, None, None)
    page = write_report([root]).read_text()
    section = _codec_table(page)
    assert "badge bad" not in section and ">fail<" not in section and section.count('<span class="badge na">n/a</span>') == 3
    assert "cells not in this sweep: [&#x27;opus@9&#x27;]" in section
    summary = (root / "summary.md").read_text()
    assert "**n/a (not measured)**" in summary and "FAIL" not in summary
    assert "cells not in this sweep: ['opus@9']" in summary


def test_measured_codec_pair_keeps_its_verdict(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "s", n_per_class=4)
    block = json.loads((root / "metrics.json").read_text())["codec_pair"]
    cp = codec_pair(load_sweep(root))
    assert cp["pass"] is block["pass"] and cp["pass_mean"] is (block["mean"] <= 0.15)
    assert cp["pass_max"] is (block["max"] <= 0.35)


def test_non_numeric_gates_render_without_crashing(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "s", n_per_class=4)
    path = root / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics["codec_pair"].update(gate_mean="0.15?", gate_max=None)
    del metrics["codec_pair"]["pass"]
    path.write_text(json.dumps(metrics))
    cp = codec_pair(load_sweep(root))
    assert (cp["pass_mean"], cp["pass_max"], cp["pass"]) == (None, None, None)
    page = write_report([root]).read_text()
    assert re.search(r"≤ 0\.15\?</td><td><span class=\"badge na\">", page)
    assert "gate ≤ 0.15?" in (root / "summary.md").read_text()
