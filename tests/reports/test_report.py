"""The report for fake sweep directories: files, table rows, numbers equal metrics.json, partial and missing dirs."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fake_sweep import make_sweep

from audiostress.reports import ReportError, write_report
from audiostress.reports.load import load_sweep
from audiostress.reports.tables import collect_series, severity_axis

#: Figures the fake sweep supports: one per panel group, the heatmap, scores and the attack matrix.
EXPECTED_PLOTS = ("curves_noise", "curves_filtering", "curves_codecs", "curves_neural_codecs",
                  "delta_eer_heatmap", "score_distributions", "attack_matrix", "det", "eer_vs_snr",
                  "raw_score_histograms")


class TableParser(HTMLParser):
    """Collects the metrics table: one dict per <tr data-cell-id>, {data-key: (data-value, text)}."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, tuple[str, str]]] = []
        self.cell_ids: list[str] = []
        self.values: dict[str, str] = {}
        self._in_table = False
        self._key: str | None = None
        self._text: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src") or "")
        if tag == "table" and a.get("id") == "metrics-table":
            self._in_table = True
        if self._in_table and tag == "tr" and "data-cell-id" in a:
            self.cell_ids.append(a["data-cell-id"])
            self.rows.append({})
        if tag in ("td", "span") and a.get("data-key"):
            self._key, self._text = a["data-key"], []
            if self._in_table and tag == "td":
                self.rows[-1][self._key] = (a.get("data-value") or "", "")
            else:
                self.values[self._key] = a.get("data-value") or ""

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self._key is not None:
            self._text.append(data)

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "table":
            self._in_table = False
        if tag in ("td", "span") and self._key is not None:
            if self.rows and self._key in self.rows[-1] and self.rows[-1][self._key][1] == "":
                self.rows[-1][self._key] = (self.rows[-1][self._key][0], "".join(self._text))
            self._key = None


@pytest.fixture(scope="module")
def one_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = make_sweep(tmp_path_factory.mktemp("sweep") / "a")
    report = write_report([root])
    return report, json.loads((root / "metrics.json").read_text())


def parse(report: Path) -> TableParser:
    p = TableParser()
    p.feed(report.read_text(encoding="utf-8"))
    return p


def test_report_writes_every_plot_and_a_row_per_cell(one_report: tuple[Path, dict]) -> None:
    report, metrics = one_report
    out = report.parent
    assert report.name == "report.html" and (out / "summary.md").exists()
    for name in EXPECTED_PLOTS:
        for ext in ("png", "svg"):
            f = out / "plots" / f"{name}.{ext}"
            assert f.exists() and f.stat().st_size > 2000, f
    parsed = parse(report)
    assert sorted(parsed.cell_ids) == sorted(c["cell_id"] for c in metrics["cells"])
    assert len(parsed.images) == len(EXPECTED_PLOTS)
    assert all(src.startswith("data:image/png;base64,") for src in parsed.images)


def test_html_numbers_equal_metrics_json(one_report: tuple[Path, dict]) -> None:
    report, metrics = one_report
    parsed = parse(report)
    by_id = {c["cell_id"]: c for c in metrics["cells"]}
    checked = 0
    for cid, row in zip(parsed.cell_ids, parsed.rows):
        for key in ("eer", "delta_eer", "auroc", "min_dcf", "drift_mean_abs", "flip_rate",
                    "fpr_at_clean_threshold", "fnr_at_clean_threshold", "measured_snr_db"):
            raw, text = row[key]
            assert float(raw) == by_id[cid][key], (cid, key)
            assert text == f"{by_id[cid][key]:.4f}", (cid, key, text)
            checked += 1
        assert json.loads(row["eer_ci95"][0]) == by_id[cid]["eer_ci95"]
    assert checked == 9 * len(metrics["cells"])
    assert float(parsed.values["clean_eer"]) == metrics["clean"]["eer"]
    assert float(parsed.values["clean_auroc"]) == metrics["clean"]["auroc"]
    assert float(parsed.values["codec_pair_mean"]) == metrics["codec_pair"]["mean"]
    assert float(parsed.values["codec_pair_max"]) == metrics["codec_pair"]["max"]


def test_summary_lists_worst_cells_and_gates(one_report: tuple[Path, dict]) -> None:
    report, metrics = one_report
    text = (report.parent / "summary.md").read_text()
    worst = max(metrics["cells"], key=lambda c: c["delta_eer"])
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| cell |")]
    params = ", ".join(f"{k}={v}" for k, v in worst["params"].items())
    assert rows[0].startswith(f"| {worst['cell_id']} | {params} | {worst['eer']:.3f} | {worst['delta_eer']:.3f}")
    # every cell is listed (none cut off), each with its parameters
    listed = [r.split(" | ")[0][2:] for r in rows]
    assert sorted(listed) == sorted(c["cell_id"] for c in metrics["cells"] if c["cell_id"] != "clean")
    verdict = "PASS" if metrics["codec_pair"]["pass"] else "FAIL"
    assert f"**{verdict}**" in text and "gate ≤ 0.15" in text and "gate ≤ 0.35" in text


def test_severity_axis_shows_parameter_values(tmp_path: Path) -> None:
    sweep = load_sweep(make_sweep(tmp_path / "a"))
    axes = {s.key: severity_axis(s) for s in collect_series([sweep])}
    assert axes["mp3"].ticks == {1: "40", 2: "32", 3: "24", 4: "16", 5: "8"}
    assert axes["mp3"].title_suffix == "bitrate (kbps): 40 → 8"
    assert axes["gaussian_noise"].title_suffix == "snr (dB): 40 → 5"
    assert axes["opus"].ticks == {4: "2"}  # a single cell still shows its parameter value


def test_partial_sweep_is_reported_and_marked(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "p", drop_rows=30)
    report = write_report([root])
    html_text = report.read_text()
    assert 'data-partial="1"' in html_text and "Partial sweep" in html_text
    assert "(partial)" in html_text.split("</title>")[0]
    assert "PARTIAL" in (root / "summary.md").read_text()


def test_missing_metrics_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportError, match="no metrics.json; run `audiostress sweep"):
        write_report([tmp_path / "empty"])
    with pytest.raises(ReportError, match="not found"):
        write_report([tmp_path / "nope"])
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "metrics.json").write_text("{not json")
    with pytest.raises(ReportError, match="unreadable metrics.json"):
        write_report([bad])


def test_clean_threshold_is_placed_on_p_fake(tmp_path: Path) -> None:
    import math

    from audiostress.reports.plots_scores import eer_score_column, threshold_on_p

    sweep = load_sweep(make_sweep(tmp_path / "t"))
    assert eer_score_column(sweep) == "raw_score"
    # The operating threshold is the midpoint between two adjacent clean raw scores; the fake sweep's p_fake is
    # sigmoid(raw_score), so on p_fake it lies halfway between those two clips' p_fake.
    thr = sweep.clean["threshold"]
    raw = sorted(float(r["raw_score"]) for r in sweep.rows or [] if r["cell_id"] == "clean" and r["raw_score"] is not None)
    low, high = max(v for v in raw if v < thr), min(v for v in raw if v > thr)
    assert high == sweep.clean["eer_threshold"] and thr == pytest.approx((low + high) / 2, abs=1e-12)
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    assert threshold_on_p(sweep) == pytest.approx((sig(low) + sig(high)) / 2, abs=1e-12)


def test_missing_scores_csv_drops_histograms_and_marks_partial(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "m")
    (root / "scores.csv").unlink()
    report = write_report([root])
    assert "scores.csv is missing" in report.read_text()
    assert not (root / "plots" / "score_distributions.png").exists()
    assert (root / "plots" / "delta_eer_heatmap.png").exists()


def test_fake_sweep_metrics_are_build_metrics_of_its_scores(tmp_path: Path) -> None:
    # The report tests must see what a sweep writes: metrics.json == build_metrics(scores.csv rows).
    import csv

    from fake_sweep import N_BOOTSTRAP

    from audiostress.metrics.summary import build_metrics

    root = make_sweep(tmp_path / "s", n_per_class=6)
    metrics = json.loads((root / "metrics.json").read_text())
    with (root / "scores.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["severity"] = int(r["severity"]) if r["severity"] else None
    keys = ("cell_id", "corruption", "severity", "params", "family", "table", "series", "axis")
    cells = [{"cell_id": "clean", "corruption": "clean", "severity": 0, "params": {}, "family": "clean"}] + [
        {k: c[k] for k in keys} for c in metrics["cells"]]
    rebuilt = build_metrics(rows, cells, metrics["provenance"], codec_pair_cells=metrics["codec_pair"]["cells"],
                            n_bootstrap=N_BOOTSTRAP, seed=metrics["provenance"]["seed"])
    assert json.loads(json.dumps(rebuilt)) == metrics
    assert all(isinstance(c, str) for c in metrics["provenance"]["grid"]["cells"])  # runners/sweep.py's shape


def test_eer_score_column_reads_settings_threshold_score(tmp_path: Path) -> None:
    from audiostress.reports.plots_scores import eer_score_column

    sweep = load_sweep(make_sweep(tmp_path / "t", n_per_class=4))
    assert sweep.metrics["settings"]["threshold_score"] == "raw_score" == eer_score_column(sweep)
    sweep.metrics["settings"]["threshold_score"] = "p_fake"
    assert eer_score_column(sweep) == "p_fake"
