"""What the report tells a reader besides the metrics (issue 10): small-n CIs, the inverted-score banner,
grouped errors, skipped/retried pairs, the corruption rate, the detector input and cutoffs in Hz."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fake_sweep import make_sweep

from audiostress.reports import load_sweep, write_report
from audiostress.reports.run_info import axis_in_hz
from audiostress.reports.summary_md import md
from audiostress.reports.tables import collect_series, severity_axis

DETECTOR_INPUT = {"sample_rate": 16000, "length": 64600, "pad": "repeat", "crop": "first", "hop": None,
                  "windows_per_clip": {"min": 1, "median": 1, "max": 3}}


def _page(root: Path) -> str:
    return write_report(root).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def default_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = make_sweep(tmp_path_factory.mktemp("plain") / "s")
    return root, _page(root)


def test_small_n_cis_are_marked_with_a_legend(tmp_path: Path, default_page: tuple[Path, str]) -> None:
    root = make_sweep(tmp_path / "small", n_per_class=6)
    page = _page(root)
    metrics = json.loads((root / "metrics.json").read_text())
    assert metrics["clean"]["small_n"] is True and all(c["small_n"] for c in metrics["cells"])
    rows = re.findall(r'<tr data-cell-id="[^"]*" data-detector="[^"]*">.*?</tr>', page)
    assert len(rows) == len(metrics["cells"])
    # the EER, ΔEER, drift and flip-rate CIs of every cell
    assert all(row.count('data-small-n="1"') == 4 for row in rows)
    assert 'data-key="small_n_legend"' in page and "fewer than 10 clips of a class" in page
    assert re.search(r'data-key="clean_eer_ci95">[^<]*<span class="smalln"', page)
    summary = (root / "summary.md").read_text()
    assert "† fewer than 10 clips of a class" in summary and "n = 12 †" in summary
    # 12 clips per class and 6 per attack: no CI is flagged, but the attack matrix names the small attacks.
    plain_root, plain = default_page
    assert 'data-small-n="1"' not in plain and "small_n_legend" not in plain
    assert "A01 (n_spoof = 6)" in plain and "†" not in (plain_root / "summary.md").read_text()


def test_inverted_clean_scores_show_a_banner(tmp_path: Path, default_page: tuple[Path, str]) -> None:
    root = make_sweep(tmp_path / "inv", invert=True)
    page = _page(root)
    (warning,) = json.loads((root / "metrics.json").read_text())["warnings"]
    assert 'class="warning" data-key="warnings"' in page and "look inverted" in page and "fake_index" in page
    assert page.index('data-key="warnings"') < page.index('id="summary"')  # above everything else
    assert f"> **warning**: {md(warning)}" in (root / "summary.md").read_text()
    assert 'data-key="warnings"' not in default_page[1]


def _error_rows(page: str) -> list[str]:
    table = page[page.index('id="errors"'):page.index('id="provenance"')]
    return re.findall(r"<tr><td class=\"num\" data-key=\"count\">.*?</tr>", table)


def test_identical_errors_are_one_row_with_a_count_and_the_first_clip_ids(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "err", n_errors=7, error_text="EnCodec weights not found")
    page = _page(root)
    (row,) = _error_rows(page)
    assert '<td class="num" data-key="count">7</td>' in row and "EnCodec weights not found" in row
    assert "<td>mp3@5</td>" in row and "<td>clip-b00, clip-b01, clip-b02, clip-b03, clip-b04</td>" in row
    assert "7 failed item(s), 1 distinct message(s)" in page
    # A metrics.json written before error_summary existed is grouped from its error list.
    metrics = json.loads((root / "metrics.json").read_text())
    del metrics["error_summary"]
    (root / "metrics.json").write_text(json.dumps(metrics))
    assert _error_rows(_page(root)) == [row]


def test_coverage_line_names_skipped_dataset_rows_and_retried_pairs(tmp_path: Path,
                                                                   default_page: tuple[Path, str]) -> None:
    problems = [{"row": "meta.csv:4", "message": "audio file not found: x.wav"}]
    root = make_sweep(tmp_path / "cov", retried=3, dataset_problems=problems)
    page = _page(root)
    cov = json.loads((root / "metrics.json").read_text())["coverage"]
    assert (cov["pairs_retried"], cov["clips_skipped"], cov["pairs_skipped"]) == (3, 1, cov["cells"])
    assert f"1 dataset row(s) skipped ({cov['cells']} pairs), 3 pair(s) retried" in page
    assert "dataset row skipped: audio file not found: x.wav" in page and "retried" not in default_page[1]


def test_corrupt_rate_detector_input_and_cutoffs_in_hz(tmp_path: Path, default_page: tuple[Path, str]) -> None:
    root = make_sweep(tmp_path / "hz", cutoff_fraction=True,
                      provenance_extra={"corrupt_rate": 16000, "detector_input": DETECTOR_INPUT})
    page = _page(root)
    assert "every clip was resampled to 16000 Hz before it was corrupted" in page
    assert ("16000 Hz, 64600 samples (4.04 s), crop first, pad repeat, windows per clip 1 / 1 / 3 "
            "(min / median / max)") in page
    assert 'data-value="cutoff_fraction=0.4 (3200 Hz)"' in page and 'data-value="cutoff_fraction=0.2 (1600 Hz)"' in page
    summary = (root / "summary.md").read_text()
    assert "Corruption rate: every clip was resampled to 16000 Hz" in summary and "64600 samples" in summary
    # Native rate: no single Hz value.
    native = make_sweep(tmp_path / "native", cutoff_fraction=True,
                        provenance_extra={"corrupt_rate": "native", "detector_input": dict(DETECTOR_INPUT, length=None)})
    page = _page(native)
    assert "corruptions ran at each file&#x27;s native rate" in page and "16000 Hz, whole clip" in page
    assert "cutoff_fraction=0.4 (Hz depends on each file&#x27;s rate)" in page
    # An old metrics.json without either key still renders and says so.
    assert "Corruption rate</strong>: not recorded" in default_page[1]
    assert "Detector input</strong>: not recorded" in default_page[1]


def test_the_severity_axis_of_a_fraction_cutoff_shows_hz(tmp_path: Path) -> None:
    sweep = load_sweep(make_sweep(tmp_path / "axis", cutoff_fraction=True, provenance_extra={"corrupt_rate": 16000}))
    (series,) = [s for s in collect_series([sweep]) if s.key == "low_pass"]
    axis = axis_in_hz(severity_axis(series), 16000)
    assert axis.ticks == {2: "0.4\n3200 Hz", 4: "0.2\n1600 Hz"}
    assert axis.title_suffix.endswith("(3200 → 1600 Hz at 16000 Hz)")
    assert "Hz depends on each file's rate" in axis_in_hz(severity_axis(series), "native").label
    noise = next(s for s in collect_series([sweep]) if s.key == "gaussian_noise")
    assert axis_in_hz(severity_axis(noise), 16000) == severity_axis(noise)  # not a cutoff: unchanged


def test_scores_csv_text_is_unescaped_on_reading(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "csv", clip_prefix="=cmd", attacks=("-A01", "@A02"), csv_escape=True)
    assert "'=cmd-b00" in (root / "scores.csv").read_text()
    sweep = load_sweep(root)
    assert sweep.rows is not None
    assert {r["clip_id"] for r in sweep.rows} == {f"=cmd-{k}{i:02d}" for k in "bs" for i in range(12)}
    assert {r["attack"] for r in sweep.rows} == {None, "-A01", "@A02"}
    assert not sweep.partial  # the unescaped rows match metrics.json
