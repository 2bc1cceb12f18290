"""The report says where a detector breaks and what to do: headline by flip rate and FPR/FNR at τ, failed cells
in red with their message, the what-next box with a gate that fails, numeric x axes, explicit-parameter curves,
DET / SNR / raw_score figures, a 55-cell attack matrix whose labels fit, and the comparison banner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from fake_sweep import EXPLICIT_CELL, LONG_ATTACKS, make_sweep
from matplotlib.backends.backend_agg import FigureCanvasAgg

from audiostress.reports import load_sweep, write_report
from audiostress.reports.curves import explicit_series, x_axis
from audiostress.reports.headline import suggested_gates
from audiostress.reports.plots import family_figure
from audiostress.reports.plots_attack import attack_matrix
from audiostress.reports.tables import collect_series, severity_axis
from audiostress.testing.gates import check
from audiostress.testing.grammar import parse_gate


@pytest.fixture(scope="module")
def failed_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, str]:
    root = make_sweep(tmp_path_factory.mktemp("r") / "s", n_errors=24, explicit_cell=True)  # mp3@5: every clip fails
    report = write_report([root])
    return root, json.loads((root / "metrics.json").read_text()), report.read_text()


def _section(page: str, key: str) -> str:
    start = page.index(f'data-key="{key}"')
    return page[start:page.index("</div>", start)]


def test_headline_lists_worst_cells_by_flip_rate_and_rates_at_the_clean_threshold(failed_report) -> None:
    _, metrics, page = failed_report
    cells = [c for c in metrics["cells"] if c["cell_id"] != "clean"]
    for key in ("delta_eer", "flip_rate", "fnr_at_clean_threshold", "fpr_at_clean_threshold"):
        box = _section(page, f"worst_{key}")
        shown = re.findall(r"<tr><td>([^<]+)</td>", box)
        expected = sorted((c for c in cells if c.get(key) is not None), key=lambda c: (-c[key], c["cell_id"]))[:5]
        assert shown == [c["cell_id"] for c in expected]


def test_a_cell_where_every_clip_failed_is_red_with_its_message(failed_report) -> None:
    _, _, page = failed_report
    box = _section(page, "failed_cells")
    assert 'class="failed"' in page and 'data-cell-id="mp3@5"' in box and "decode failed: truncated frame" in box
    row = re.search(r'<tr class="failed-row" data-failed="1" data-cell-id="mp3@5".*?</tr>', page)
    assert row is not None and "FAILED: every clip failed (decode failed: truncated frame)" in row.group(0)
    # a cell that is merely not in the grid gets no such row
    assert page.count('data-failed="1"') == 1


def test_what_next_gives_the_replay_command_and_gates_that_fail_on_this_sweep(failed_report) -> None:
    root, metrics, page = failed_report
    box = _section(page, "what_next")
    worst = max((c for c in metrics["cells"] if c.get("delta_eer") is not None), key=lambda c: c["delta_eer"])
    assert f"--cell-id {worst['cell_id']}" in box and "audiostress replay" in box
    gates = suggested_gates(load_sweep(root))
    assert gates and gates[0] == f"delta_eer[{worst['series']}@*] <= 0.05"
    import audiostress as ast

    for gate in gates:
        assert parse_gate(gate).text == gate
        with pytest.raises(AssertionError):  # the gate catches this sweep's regression
            check(ast.load_results(root), gate, min_n=0)
        assert gate.replace("<=", "&lt;=") in box


def test_curves_sit_on_the_parameters_numeric_axis(tmp_path: Path) -> None:
    sweep = load_sweep(make_sweep(tmp_path / "s"))
    series = {s.key: s for s in collect_series([sweep])}
    noise = x_axis(severity_axis(series["gaussian_noise"]), None)
    assert noise.x == {1: 40.0, 2: 30.0, 3: 20.0, 4: 10.0, 5: 5.0} and noise.numeric and noise.inverted
    fig = family_figure([sweep], [series["gaussian_noise"], series["low_pass"]], "t")
    lines = [ax.lines[0] for ax in fig.axes if ax.lines]
    assert list(lines[0].get_xdata()) == [40.0, 30.0, 20.0, 10.0, 5.0]  # spacing is the SNR's, not 1..5
    assert fig.axes[0].xaxis_inverted() and fig.axes[0].get_xscale() == "log"
    low = [ln for ax in fig.axes for ln in ax.lines if list(ln.get_xdata()) == [3200.0, 1600.0]]
    assert low, "low_pass@2 and @4 sit at 3200 and 1600 Hz"


def test_explicit_parameter_cells_get_a_curve_on_their_axis(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "s", explicit_cell=True)
    metrics = json.loads((root / "metrics.json").read_text())
    extra = dict(EXPLICIT_CELL, cell_id="mp3{bitrate_kbps=64}", series="mp3{bitrate_kbps=64}", params={"bitrate_kbps": 64.0},
                 axis={"param": "bitrate_kbps", "unit": "kbps", "value": 64.0})
    base = next(c for c in metrics["cells"] if c["cell_id"] == EXPLICIT_CELL["cell_id"])
    metrics["cells"].append(base | {k: v for k, v in extra.items() if k != "table"} | {"eer": 0.3})
    (root / "metrics.json").write_text(json.dumps(metrics))
    sweep = load_sweep(root)
    (curve,) = explicit_series([sweep])
    assert curve.key == "mp3 (bitrate_kbps, explicit)" and sorted(curve.cells[0]) == [1, 2]
    xa = x_axis(severity_axis(curve), None)
    assert xa.x == {1: 64.0, 2: 128.0} and not xa.inverted
    write_report([root])
    assert (root / "plots" / "curves_codecs.png").exists()
    fig = family_figure([sweep], [curve], "t")
    assert list(fig.axes[0].lines[0].get_xdata()) == [64.0, 128.0]


def test_det_snr_and_raw_score_figures_are_in_the_report(failed_report) -> None:
    root, _, page = failed_report
    for name in ("det", "eer_vs_snr", "raw_score_histograms"):
        assert (root / "plots" / f"{name}.png").exists() and f'id="fig-{name}"' in page
    assert "auto bins" not in page  # bin counts live in the figure, the caption names the rule
    assert "numpy &#x27;auto&#x27;" in page


def test_55_cell_attack_matrix_keeps_every_label_inside_the_figure(tmp_path: Path) -> None:
    sweep = load_sweep(make_sweep(tmp_path / "wide", wide=True, attacks=LONG_ATTACKS))
    assert len(sweep.cells) == 55
    fig = attack_matrix([sweep])
    assert fig is not None
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    box = fig.bbox
    matrices = [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]
    labels = [t for ax in matrices for t in ax.get_yticklabels() + ax.get_xticklabels() if t.get_text()]
    texts = {t.get_text() for t in labels}
    assert {c["cell_id"] for c in sweep.cells} <= texts  # one row per cell, each labelled
    for t in labels:
        ext = t.get_window_extent(renderer)
        assert ext.x0 >= box.x0 - 1 and ext.x1 <= box.x1 + 1 and ext.y0 >= box.y0 - 1 and ext.y1 <= box.y1 + 1, t.get_text()
    heights = [ax.get_window_extent(renderer).height / max(1, len(ax.get_yticks())) for ax in matrices]
    assert min(heights) >= 20  # at least 20 px per cell row: readable, not a strip


def test_comparison_banner_and_ranking_on_different_clip_sets(tmp_path: Path) -> None:
    good = make_sweep(tmp_path / "good", detector="good", n_per_class=12)
    broken = make_sweep(tmp_path / "broken", detector="broken", n_per_class=10, invert=True, clip_prefix="clip")
    report = write_report([broken, good], out_dir=tmp_path / "cmp")
    page = report.read_text()
    comparison = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert comparison["common_clips"] <= 20 and [r["detector"] for r in comparison["ranking"]] == ["good", "broken"]
    banner = _section(page, "comparability")
    assert 'data-comparable="0"' in banner and 'data-what="clips"' in banner
    assert f"{comparison['common_clips']} common clips" in banner
    ranked = re.findall(r'<tr data-detector="([^"]+)"><td>\d+</td>', page[page.index('id="ranking"'):])
    assert ranked[:2] == ["good", "broken"]
    assert 'id="pairwise"' in page
    summary = (tmp_path / "cmp" / "summary.md").read_text()
    assert "**not comparable**: clips" in summary and summary.index("| 1 | good") < summary.index("| 2 | broken")


def test_metric_table_shows_cllr_and_the_new_cis(failed_report) -> None:
    _, metrics, page = failed_report
    cell = next(c for c in metrics["cells"] if c["cell_id"] == "mp3@3")
    row = re.search(r'<tr data-cell-id="mp3@3".*?</tr>', page).group(0)
    assert f'data-key="cllr" data-value="{float(cell["cllr"])!r}"' in row
    assert 'data-key="flip_rate_ci95"' in row and 'data-key="drift_ci95"' in row
    assert np.isfinite(cell["cllr"])
