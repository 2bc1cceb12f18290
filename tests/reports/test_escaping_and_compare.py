"""Hostile strings stay inert in report.html, summary.md and the SVGs; two sweeps compare in one report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fake_sweep import make_sweep

from audiostress.reports import ReportError, write_report

EVIL = "<script>alert('x')</script>\"quoted\" & 'single'"
RAW = "<script>alert"


def test_every_user_string_is_escaped(tmp_path: Path) -> None:
    evil_cell = f"evil{EVIL}"
    hostile = {
        "detector": f"det{EVIL}", "clip_prefix": f"clip{EVIL}", "attacks": (f"A01{EVIL}", "A02$x$"),
        "error_text": f"boom {EVIL}", "dataset_path": f"/data/{EVIL}", "evil_param": EVIL, "extra_cell": evil_cell,
        "codec_pair_cells": ("clean", "mp3@1", f"{evil_cell}@2"),
    }
    reference = json.loads((make_sweep(tmp_path / "ref", seed=5, **hostile) / "metrics.json").read_text())
    root = make_sweep(tmp_path / "evil", reference=reference, **hostile)
    path = root / "metrics.json"
    metrics = json.loads(path.read_text())
    assert f"{evil_cell}@2" in {c["cell_id"] for c in metrics["cells"]} and evil_cell in metrics["corruption_errors"]
    metrics["corruption_errors"][evil_cell][f"key{EVIL}"] = f"value{EVIL}"  # keys inside an entry are escaped too
    metrics["codec_pair"].update(gate_mean=f"gate{EVIL}")
    path.write_text(json.dumps(metrics))
    report = write_report([root])
    page = report.read_text(encoding="utf-8")
    assert RAW not in page
    # the strings are there, escaped: detector name, clip id (errors table), error text, dataset path, params
    escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&quot;quoted&quot; &amp; &#x27;single&#x27;"
    assert f"det{escaped}" in page
    assert f"clip{escaped}-s00" in page or f"clip{escaped}-b00" in page
    assert f"boom {escaped}" in page
    assert f"/data/{escaped}" in page
    assert f"note={escaped}" in page
    assert f'data-cell-id="evil{escaped}@2"' in page  # cell id (metrics table)
    assert f"<td>evil{escaped}</td>" in page  # corruption_errors key
    assert f"key{escaped}: value{escaped}" in page  # a key inside a corruption_errors entry
    assert f"mp3@1, evil{escaped}@2 (n" in page  # codec-pair cell names
    assert f"gate{escaped}" in page
    # the only <script> is the report's own
    assert len(re.findall(r"<script", page)) == 1
    summary = (root / "summary.md").read_text(encoding="utf-8")
    assert RAW not in summary and "&lt;script&gt;" in summary
    assert "gate ≤ gate&lt;script&gt;" in summary
    for svg in (root / "plots").glob("*.svg"):
        assert RAW not in svg.read_text(encoding="utf-8"), svg


def test_two_sweeps_overlay_and_rank(tmp_path: Path) -> None:
    a = make_sweep(tmp_path / "a", detector="fragile", strength=1.5, seed=1)
    b = make_sweep(tmp_path / "b", detector="sturdy", strength=0.3, seed=2)
    with pytest.raises(ReportError, match="needs an output directory"):
        write_report([a, b])
    report = write_report([a, b], tmp_path / "cmp")
    page = report.read_text(encoding="utf-8")
    ranking = page.split('id="ranking"')[1].split("</table>")[0]
    order = re.findall(r'<tr data-detector="([^"]+)"', ranking)
    assert order == ["sturdy", "fragile"]  # lower mean ΔEER first
    rows = re.findall(r'<tr data-cell-id="[^"]+" data-detector="([^"]+)"', page)
    assert rows.count("fragile") == rows.count("sturdy") > 0
    assert (tmp_path / "cmp" / "plots" / "curves_codecs.svg").read_text().count("fragile") >= 1
    svg = (tmp_path / "cmp" / "plots" / "curves_codecs.svg").read_text()
    assert "sturdy" in svg  # both detectors are labelled in the overlay legend
    summary = (tmp_path / "cmp" / "summary.md").read_text()
    assert summary.index("| 1 | sturdy") < summary.index("| 2 | fragile")
    # the sweep directories themselves are untouched
    assert not (a / "report.html").exists() and not (b / "report.html").exists()
