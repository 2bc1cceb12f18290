"""`audiostress report DIR [DIR ...] [--out OUT]`: writes the report, one-line errors with exit code 2."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from fake_sweep import make_sweep

from audiostress.cli import main


def test_report_command_and_its_errors(tmp_path: Path) -> None:
    a = make_sweep(tmp_path / "a", n_per_class=6)
    b = make_sweep(tmp_path / "b", detector="other", n_per_class=6, seed=3)
    runner = CliRunner()
    res = runner.invoke(main, ["report", str(a), str(b)])
    assert res.exit_code == 2 and "needs an output directory (--out DIR)" in res.output
    res = runner.invoke(main, ["report", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "sweep directory not found" in res.output
    res = runner.invoke(main, ["report", str(a), str(b), "--out", str(tmp_path / "cmp")])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == f"report: {tmp_path / 'cmp' / 'report.html'}"
    assert (tmp_path / "cmp" / "summary.md").read_text().startswith("## audiostress: detector comparison")
