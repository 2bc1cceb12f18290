"""SweepResult.check on constructed sweeps: the grammar, every decision mode, min_n, the failure text,
sweep-level keys, and baselines (paired regression, identity mismatch, stale warning)."""

from __future__ import annotations

import json
import warnings

import pytest
from gate_fixtures import write_sweep

import audiostress as ast
from audiostress.testing import ARTIFACTBENCH, Baseline, GateError, GateFailure, StaleBaselineWarning, parse_gate


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = write_sweep(tmp_path_factory.mktemp("gates") / "run", codec_pair=["clean", "mp3@1", "opus@2"])
    return ast.load_results(out)


def test_grammar_parses_every_value_form():
    assert parse_gate("eer[clean] <= baseline + 0.01").offset == 0.01
    assert parse_gate("eer[clean] < baseline - 2%").offset == -2.0
    assert parse_gate("auroc >= baseline +/- 0.02").offset == -0.02
    assert parse_gate("flip_rate[*]>0").value == 0.0 and parse_gate("flip_rate[*]>0").cells == "*"
    for bad, why in [("eer[clean] == 0.1", "Malformed"), ("eer[] <= 1", "empty cell"), ("codec_pair.mean[*] <= 1", "sweep-level"),
                     ("eer <= baseline * 2", "neither a number")]:  # fmt: skip
        with pytest.raises(GateError, match=why):
            parse_gate(bad)


def test_passing_gates_report_every_cell(sweep):
    report = sweep.check("eer[*] <= 0.5", "delta_eer[mp3@*] <= 0.4", "codec_pair.mean <= 0.15", "codec_pair.max <= 0.35")
    cells = [(t.gate.metric, t.cell) for t in report.targets]
    assert cells == [("eer", "clean"), ("eer", "mp3@1"), ("eer", "mp3@5"), ("eer", "opus@2"),
                     ("delta_eer", "mp3@1"), ("delta_eer", "mp3@5"), ("codec_pair.mean", None), ("codec_pair.max", None)]  # fmt: skip
    assert "| `eer[*] <= 0.5` | mp3@5 | 0.2750 | [0.1750, 0.3750] | 80 | — | pass |" in report.table()


def test_a_failing_gate_names_cell_value_ci_n_worst_clip_and_replay(sweep):
    with pytest.raises(GateFailure) as info:
        sweep.check("delta_eer[mp3@*] <= 0.1", "eer[clean] <= 0.5")
    text = str(info.value)
    assert isinstance(info.value, AssertionError)
    assert text.startswith("1 of 2 gates failed (ci=point, min_n=30)")
    assert "FAIL delta_eer[mp3@*] <= 0.1" in text
    assert "mp3@5: delta_eer = 0.2000, 95% CI [" in text and "n=80" in text
    assert "mp3@1" not in text.split("FAIL")[1].split("worst")[0]  # mp3@1 passes (0.075) and is not listed
    worst = text.split("worst clips (clean → corrupted p_fake):\n")[1].splitlines()[0].split()
    assert worst[1] in ("spoof", "bonafide") and worst[3] == "→"
    assert f"audiostress replay {sweep.out_dir} --clip-id {worst[0]} --cell-id mp3@5 -o" in text
    assert text.endswith(f"report: {sweep.out_dir / 'metrics.json'}")
    assert [t.passed for t in info.value.report.targets] == [True, False, True]


def test_every_mode_where_point_and_ci_disagree(sweep):
    cell = sweep.cell("mp3@5")
    lo, hi = cell.eer_ci95
    above, below = (cell.eer + hi) / 2, (lo + cell.eer) / 2  # point passes / fails; the CI straddles both
    loose, tight = f"eer[mp3@5] <= {above:.4f}", f"eer[mp3@5] <= {below:.4f}"
    assert sweep.check(loose, ci="point").passed
    with pytest.raises(GateFailure, match="ci=strict"):
        sweep.check(loose, ci="strict")
    with pytest.raises(GateFailure, match="ci=point"):
        sweep.check(tight, ci="point")
    assert sweep.check(tight, ci="lenient").passed
    with pytest.raises(GateFailure):
        sweep.check(f"eer[mp3@5] <= {lo - 0.01:.4f}", ci="lenient")  # the whole CI violates it
    assert sweep.check(f"eer[mp3@5] <= {hi + 0.01:.4f}", ci="strict").passed


def test_a_metric_without_ci_falls_back_to_the_point_value_and_says_so(sweep):
    # metrics.json has no CI for AUROC (flip_rate and drift have one since the reports issue)
    with pytest.raises(GateFailure, match="no 95% CI for auroc: ci=strict judged the point value"):
        sweep.check("auroc[mp3@5] >= 1.01", ci="strict")


def test_min_n_is_not_enough_evidence_unless_lowered(tmp_path):
    small = ast.load_results(write_sweep(tmp_path / "small", n_per_class=6))
    with pytest.raises(GateFailure, match=r"not enough evidence: n=12 < min_n=30"):
        small.check("eer[clean] <= 1.0")
    assert small.check("eer[clean] <= 1.0", min_n=10).passed


def test_unknown_metric_is_a_usage_error_listing_the_allowed(sweep):
    with pytest.raises(GateError) as info:
        sweep.check("eerr[*] <= 0.1")
    assert "unknown metric 'eerr'" in str(info.value)
    for name in ("delta_eer", "flip_rate", "fpr_at_clean_threshold", "codec_pair.mean", "mce"):
        assert name in str(info.value)
    with pytest.raises(GateError, match="ci"):
        sweep.check("eer <= 1", ci="loose")


def test_artifactbench_gates_on_a_sweep_without_threshold_fail_with_the_reason(sweep):
    with pytest.raises(GateFailure) as info:
        sweep.check(*ARTIFACTBENCH[:4])
    text = str(info.value)
    assert "fpr_at_threshold is not in this sweep (needs output.threshold in the card)" in text
    assert "tpr_at_threshold is not in this sweep (needs output.threshold in the card)" in text
    assert "FAIL codec_pair" not in text  # mean 0.088, max 0.233: both codec-pair gates pass
    with pytest.raises(GateError, match="compares with a baseline"):
        sweep.check(ARTIFACTBENCH)


def test_paired_regression_caught_when_worse_and_quiet_when_unchanged(tmp_path, sweep):
    base = Baseline.from_result(sweep)
    base.write(tmp_path / "b.json")
    same = ast.load_results(write_sweep(tmp_path / "same", codec_pair=["clean", "mp3@1", "opus@2"]))
    gates = ("eer[clean] <= baseline + 0.02", "fnr_at_clean_threshold[mp3@1] <= baseline + 0.05")
    report = same.check(*gates, baseline=tmp_path / "b.json", ci="strict")
    assert [t.change.change.point for t in report.targets] == [0.0, 0.0]
    assert all(t.change.paired and t.change.change.ci95 == (0.0, 0.0) for t in report.targets)
    worse = ast.load_results(write_sweep(tmp_path / "worse", shift={"clean": 0.9, "mp3@1": 0.9}, codec_pair=["clean", "mp3@1", "opus@2"]))
    with pytest.raises(GateFailure) as info:
        worse.check(*gates, baseline=tmp_path / "b.json", ci="strict")
    text = str(info.value)
    assert "2 of 2 gates failed" in text
    assert "common clips, paired" in text and "exact McNemar p =" in text
    change = info.value.report.targets[0].change
    assert change.change.point > 0.02 and change.change.ci95[0] > 0.0 and change.mcnemar.b > change.mcnemar.c


def test_baseline_of_another_grid_or_dataset_is_refused_with_the_reason(tmp_path, sweep):
    base = tmp_path / "b.json"
    Baseline.from_result(sweep).write(base)
    other_grid = ast.load_results(write_sweep(tmp_path / "g", cells={"clean": 3.0, "mp3@1": 2.0}))
    with pytest.raises(GateFailure, match=r"was made for another grid: cells only in the baseline \['mp3@5', 'opus@2'\]"):
        other_grid.check("eer[clean] <= baseline + 0.5", baseline=base)
    other_data = ast.load_results(write_sweep(tmp_path / "d", n_per_class=41))
    with pytest.raises(GateFailure, match="was made for another dataset: 80 clips"):
        other_data.check("eer[clean] <= baseline + 0.5", baseline=base)


def test_a_run_that_beats_its_baseline_warns_stale(tmp_path):
    worse = ast.load_results(write_sweep(tmp_path / "w", shift={"clean": 1.0}))
    better = ast.load_results(write_sweep(tmp_path / "b"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        better.check("eer[clean] <= baseline + 0.01", baseline=worse)
    stale = [w for w in caught if issubclass(w.category, StaleBaselineWarning)]
    assert len(stale) == 1 and "baseline may be stale" in str(stale[0].message)


def test_baseline_file_round_trips_scores_and_records_environment(tmp_path, sweep):
    path = Baseline.from_result(sweep, node_id="tests/x.py::test_y").write(tmp_path / "b.json")
    data = json.loads(path.read_text())
    assert set(data) >= {"identity", "metrics", "environment", "commit", "scores", "detector"}
    assert data["identity"]["grid"]["cells"] == ["clean", "mp3@1", "mp3@5", "opus@2"]
    loaded = Baseline.load(path)
    assert sum(len(v) for v in loaded.scores.values()) == 4 * 80
    assert Baseline.from_result(sweep).data["scores"] == data["scores"]  # deterministic encoding
