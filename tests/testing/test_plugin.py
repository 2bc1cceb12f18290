"""The pytest plugin through pytester: gates in tests, baselines, options and ini keys, marker validation,
the opt-out, import lightness, JUnit properties and the GitHub step summary (constructed sweeps, no detector)."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import pandas  # noqa: F401  (imported here, so pytester's in-process runs do not re-import it each time)
import pytest
import scipy.stats  # noqa: F401
from gate_fixtures import write_sweep

import audiostress.testing.fixture  # noqa: F401
import audiostress.testing.gates  # noqa: F401

TEST_FILE = """
import pytest
import audiostress as ast

RUN = {run!r}

def test_gates(robustness):
    res = ast.load_results(RUN)
    robustness.check(res, {gates})
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("plugin_runs")
    return {
        "good": write_sweep(root / "good"),
        "worse": write_sweep(root / "worse", shift={"clean": 0.9}),
        "other_grid": write_sweep(root / "other_grid", cells={"clean": 3.0, "mp3@1": 2.0}),
    }


def esc(pattern: str) -> str:
    """An fnmatch pattern matching ``[`` and ``]`` literally."""
    return "".join({"[": "[[]", "]": "[]]"}.get(ch, ch) for ch in pattern)


def _write(pytester, run, *gates, marker=""):
    body = TEST_FILE.format(run=str(run), gates=", ".join(repr(g) for g in gates))
    if marker:
        body = body.replace("def test_gates", f"{marker}\ndef test_gates")
    return pytester.makepyfile(test_robust=body)


def test_a_passing_gate_passes(pytester, runs):
    _write(pytester, runs["good"], "delta_eer[mp3@*] <= 0.4", "eer[clean] <= 0.2")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_failing_gate_fails_its_test_with_the_evidence(pytester, runs):
    _write(pytester, runs["good"], "delta_eer[mp3@*] <= 0.1")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*GateFailure: 1 of 1 gates failed (ci=point, min_n=30)*",
        "*FAIL delta_eer" + esc("[mp3@") + "*" + esc("] <= 0.1"),
        "*mp3@5: delta_eer = 0.2000, 95% CI " + esc("[") + "*" + esc("]") + ", n=80; gate <= 0.1000",
        "*worst clips (clean → corrupted p_fake):",
        "*replay the worst: audiostress replay * --clip-id * --cell-id mp3@5 -o *.wav",
        "*report: *metrics.json",
    ])  # fmt: skip
    assert "fixture.py" not in result.stdout.str() and "gates.py:" not in result.stdout.str()  # the failure is the test's


def test_ci_mode_from_option_ini_and_marker(pytester, runs):
    import audiostress as ast

    cell = ast.load_results(runs["good"]).cell("mp3@5")
    loose = f"eer[mp3@5] <= {(cell.eer + cell.eer_ci95[1]) / 2:.4f}"  # point passes, strict fails
    _write(pytester, runs["good"], loose)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    pytester.runpytest("-p", "no:cacheprovider", "--audiostress-ci=strict").assert_outcomes(failed=1)
    pytester.makeini("[pytest]\naudiostress_ci = strict\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(failed=1)
    pytester.runpytest("-p", "no:cacheprovider", "--audiostress-ci=point").assert_outcomes(passed=1)  # command line wins
    pytester.makeini("[pytest]\n")
    _write(pytester, runs["good"], loose, marker="@pytest.mark.audiostress(ci='strict')")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(failed=1)


def test_unknown_marker_key_is_a_usage_error_naming_it(pytester, runs):
    _write(pytester, runs["good"], "eer <= 1", marker="@pytest.mark.audiostress(gird='quick')")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*@pytest.mark.audiostress got unknown key 'gird'; allowed: *grid*limit*"])


def test_baseline_created_then_compared_then_updated(pytester, runs, tmp_path):
    bdir = tmp_path / "baselines"
    args = ("-p", "no:cacheprovider", f"--audiostress-baseline-dir={bdir}")
    _write(pytester, runs["good"], "eer[clean] <= baseline + 0.02")
    first = pytester.runpytest(*args)
    first.assert_outcomes(failed=1)
    first.stdout.fnmatch_lines(["*BaselineCreated: audiostress baseline created *test_robust.py--test_gates.json; rerun*"])
    path = bdir / "test_robust.py--test_gates.json"
    assert json.loads(path.read_text())["node_id"] == "test_robust.py::test_gates"
    pytester.runpytest(*args).assert_outcomes(passed=1)  # unchanged scores: paired change 0
    _write(pytester, runs["worse"], "eer[clean] <= baseline + 0.02")
    worse = pytester.runpytest(*args)
    worse.assert_outcomes(failed=1)
    worse.stdout.fnmatch_lines(["*clean: eer = * vs baseline *: change +*, 95% CI *(80 common clips, paired; n=80)*"])
    pytester.runpytest(*args, "--audiostress-update").assert_outcomes(passed=1)
    assert json.loads(path.read_text())["run_dir"] == str(runs["worse"])
    pytester.runpytest(*args).assert_outcomes(passed=1)


def test_update_new_only_writes_without_failing(pytester, runs, tmp_path):
    bdir = tmp_path / "baselines"
    _write(pytester, runs["good"], "eer[clean] <= baseline + 0.02")
    pytester.runpytest("-p", "no:cacheprovider", f"--audiostress-baseline-dir={bdir}", "--audiostress-update-new-only").assert_outcomes(passed=1)
    assert (bdir / "test_robust.py--test_gates.json").is_file()


def test_identity_mismatch_fails_and_says_so(pytester, runs, tmp_path):
    bdir = tmp_path / "baselines"
    args = ("-p", "no:cacheprovider", f"--audiostress-baseline-dir={bdir}")
    _write(pytester, runs["good"], "eer[clean] <= baseline + 0.02")
    pytester.runpytest(*args, "--audiostress-update-new-only").assert_outcomes(passed=1)
    _write(pytester, runs["other_grid"], "eer[clean] <= baseline + 0.02")
    result = pytester.runpytest(*args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*was made for another grid: cells only in the baseline " + esc("['mp3@5', 'opus@2']") + "*not compared*"])


def test_opt_out_removes_fixture_and_options(pytester, runs):
    _write(pytester, runs["good"], "eer <= 1")
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:audiostress")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'robustness' not found*"])
    usage = pytester.runpytest("-p", "no:audiostress", "--audiostress-ci=strict")
    assert usage.ret == pytest.ExitCode.USAGE_ERROR


def test_plugin_is_import_light(pytester):
    pytester.makepyfile(test_light="""
        import sys
        def test_light(pytestconfig):
            assert pytestconfig.pluginmanager.hasplugin("audiostress")
            heavy = [m for m in ("torch", "numpy", "pandas", "audiostress.api", "audiostress.testing.gates") if m in sys.modules]
            assert heavy == []
    """)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_skip_option_skips_robustness_tests(pytester, runs):
    _write(pytester, runs["good"], "delta_eer[mp3@*] <= 0.1")
    result = pytester.runpytest("-p", "no:cacheprovider", "--audiostress-skip")
    result.assert_outcomes(skipped=1)


def test_junit_properties_and_github_step_summary(pytester, runs, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    _write(pytester, runs["good"], "delta_eer[mp3@*] <= 0.1")
    junit = tmp_path / "junit.xml"
    pytester.runpytest("-p", "no:cacheprovider", f"--junitxml={junit}", "-o", "junit_family=xunit1").assert_outcomes(failed=1)
    props = {p.get("name"): p.get("value") for p in ET.parse(junit).iter("property")}
    assert props["audiostress delta_eer[mp3@*] <= 0.1 [mp3@5]"].startswith("0.2000 ci=[")
    assert props["audiostress delta_eer[mp3@*] <= 0.1 [mp3@5]"].endswith("n=80 FAIL")
    assert props["audiostress delta_eer[mp3@*] <= 0.1 [mp3@1]"].endswith("n=80 pass")
    text = summary.read_text()
    assert "### audiostress robustness gates" in text
    assert "| test | gate | cell | value | 95% CI | n | baseline | result |" in text
    assert "| test_robust.py::test_gates | `delta_eer[mp3@*] <= 0.1` | mp3@5 | 0.2000 |" in text and "**FAIL**" in text


def test_update_is_refused_with_two_xdist_workers(pytester):
    if shutil.which("python") is None:  # pragma: no cover - the subprocess needs the interpreter on PATH
        pytest.skip("no python on PATH")
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--audiostress-update")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--audiostress-update refused with 2 xdist workers*"])
