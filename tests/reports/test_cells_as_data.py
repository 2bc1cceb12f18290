"""Reports read cells as metrics.json describes them: no cell-id parsing, no corruption registry."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from fake_sweep import EXPLICIT_CELL, make_sweep

from audiostress.reports import load_sweep, write_report
from audiostress.reports.tables import collect_series, family_of, series_key, severity_axis

_PROBE = """
import sys
from audiostress.reports import write_report
write_report([sys.argv[1]], out_dir=sys.argv[2])
loaded = sorted(m for m in sys.modules if m.startswith(("audiostress.corruptions", "audiostress.codecs", "audiostress.runners.grid")))
print("LOADED=" + ",".join(loaded))
"""


def test_a_report_imports_nothing_from_the_corruption_registry(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "s", explicit_cell=True)
    done = subprocess.run([sys.executable, "-c", _PROBE, str(root), str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "report.html").stat().st_size > 10_000
    line = next(x for x in done.stdout.splitlines() if x.startswith("LOADED="))
    assert line == "LOADED="


def test_an_explicit_parameter_cell_has_null_severity_and_no_level_0_in_the_report(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "s", explicit_cell=True)
    metrics = json.loads((root / "metrics.json").read_text())
    (cell,) = [c for c in metrics["cells"] if c["cell_id"] == EXPLICIT_CELL["cell_id"]]
    assert cell["severity"] is None and cell["series"] == EXPLICIT_CELL["cell_id"] and cell["table"] is None
    assert cell["axis"] == {"param": "bitrate_kbps", "unit": "kbps", "value": 128.0}
    assert cell["eer"] is not None  # it is scored like any other cell
    report = write_report([root])
    page = report.read_text()
    row = re.search(r'<tr data-cell-id="mp3\{bitrate_kbps=128\}"[^>]*>(.*?)</tr>', page).group(1)
    assert '<td class="num" data-key="severity" data-value="">–</td>' in row
    summary = (root / "summary.md").read_text()
    for text in (page, summary):
        assert "@0" not in text and "severity 0" not in text
    rows = (root / "scores.csv").read_text().splitlines()
    assert all(line.split(",")[5] == "" for line in rows if ",mp3{bitrate_kbps=128}," in line)
    series = {s.key: s for s in collect_series([load_sweep(root)])}
    assert series[EXPLICIT_CELL["cell_id"]].severities == [0]  # the heatmap's "fixed params" slot, never a level


def test_series_family_and_axis_come_from_the_cell_not_its_id() -> None:
    cell = {"cell_id": "anything-at-all", "corruption": "mp3", "severity": 2, "series": "my curve", "family": "neural_codec",
            "params": {"bitrate_kbps": 32.0}, "axis": {"param": "stage.rate_kbps", "unit": "kbps", "value": 32.0}}
    assert series_key(cell) == "my curve" and family_of(cell) == "neural_codec"
    sweep = _sweep_of([cell, dict(cell, cell_id="other", severity=4, axis={"param": "stage.rate_kbps", "unit": "kbps",
                                                                               "value": 8.0})])
    (series,) = collect_series([sweep])
    axis = severity_axis(series)
    assert series.panel == "neural_codecs" and axis.ticks == {2: "32", 4: "8"}
    assert axis.title_suffix == "stage rate (kbps): 32 → 8"


def test_an_old_metrics_json_still_renders_from_what_it_holds(tmp_path: Path) -> None:
    new, old = make_sweep(tmp_path / "new"), make_sweep(tmp_path / "old", legacy_cells=True)
    cells = json.loads((old / "metrics.json").read_text())["cells"]
    assert all(c["series"] is None and c["axis"]["param"] is None for c in cells)
    by_key = {}
    for root in (new, old):
        series = collect_series([load_sweep(root)])
        by_key[root.name] = {s.key: (s.panel, s.severities, severity_axis(s).ticks) for s in series}
    assert by_key["old"] == by_key["new"]
    assert write_report([old]).stat().st_size > 10_000
    # Cascades of an old file say family "graph": they are drawn with the codecs.
    assert family_of({"family": "graph"}) == "codec" and family_of({}) == "unknown"


def _sweep_of(cells: list[dict]) -> object:
    from audiostress.reports.load import Sweep

    return Sweep(Path("."), {"cells": cells}, None, "x")
