"""HTML details: the clean note, numeric sort keys for CI columns, and the mCE of a reference comparison."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fake_sweep import make_sweep

from audiostress.reports import write_report


def test_clean_note_is_shown(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "s", n_per_class=4)
    path = root / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics["clean"].update(eer=None, note="EER undefined: only one class present (n_bonafide=4, n_spoof=0)")
    path.write_text(json.dumps(metrics))
    page = write_report([root]).read_text()
    assert "Clean: EER undefined: only one class present (n_bonafide=4, n_spoof=0)" in page


def test_ci_columns_sort_numerically_by_lower_bound(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "s", n_per_class=4)
    metrics = json.loads((root / "metrics.json").read_text())
    page = write_report([root]).read_text()
    head = page.split('id="metrics-table"')[1].split("</thead>")[0]
    assert re.search(r'<th data-kind="num">EER 95% CI</th>', head) and re.search(r'<th data-kind="num">ΔEER 95% CI</th>', head)
    sorts = dict(re.findall(r'<tr data-cell-id="([^"]+)"[^>]*>.*?data-key="delta_eer_ci95" data-value="[^"]*" '
                            r'data-sort="([^"]*)"', page))
    by_id = {c["cell_id"]: c for c in metrics["cells"]}
    assert sorts and all(float(v) == by_id[cid]["delta_eer_ci95"][0] for cid, v in sorts.items())


def test_reference_mce_is_rendered(tmp_path: Path) -> None:
    reference = json.loads((make_sweep(tmp_path / "ref", n_per_class=4, seed=4, detector="ref-det")
                            / "metrics.json").read_text())
    root = make_sweep(tmp_path / "s", n_per_class=4, reference=reference)
    ref = json.loads((root / "metrics.json").read_text())["corruption_error_reference"]
    assert isinstance(ref["mce"], float)
    page = write_report([root]).read_text()
    assert f'data-key="mce" data-value="{ref["mce"]!r}">{ref["mce"]:.4f}<' in page
    assert f'data-key="relative_mce" data-value="{ref["relative_mce"]!r}"' in page
    assert "Reference detector: ref-det; its clean EER" in page
