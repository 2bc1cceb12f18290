"""robustness.sweep on a real (tiny) sweep with the analytic detector: two xdist workers share one sweep that is
computed once (one row in the store's `runs` table), their gate rows reach one $GITHUB_STEP_SUMMARY table, and a
later session reopens the sweep without running again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

RUNNERS = Path(__file__).resolve().parents[1] / "runners"

INNER = """
import os, sys
sys.path.insert(0, {runners!r})
import pytest
from sweep_fixtures import DETECTOR_INPUT, DETECTOR_OUTPUT, DETECTOR_SPEC

@pytest.mark.audiostress(grid={grid!r}, min_n=10)
@pytest.mark.parametrize("k", range(4))
def test_shared(robustness, k):
    res = robustness.sweep(DETECTOR_SPEC, {data!r}, input=DETECTOR_INPUT, output=DETECTOR_OUTPUT, report=False)
    robustness.check(res, "eer[clean] <= 0.5", "delta_eer[*] <= 0.5")
    marks = {marks!r}
    os.makedirs(marks, exist_ok=True)
    with open(os.path.join(marks, f"{{k}}.txt"), "w") as f:
        f.write(f"{{os.environ.get('PYTEST_XDIST_WORKER', 'main')}} {{res.out_dir}}")
"""


def _runs(store: Path) -> list[tuple[Path, int]]:
    out = []
    for db in sorted(store.glob("sweeps/*/results.sqlite")):
        with sqlite3.connect(db) as conn:
            out.append((db.parent, conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]))
    return out


def test_two_workers_share_one_sweep_computed_once(pytester, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(RUNNERS))
    from sweep_fixtures import write_dataset

    data = write_dataset(tmp_path / "data", 6)
    grid = tmp_path / "grid.yaml"
    grid.write_text("cells:\n  - {corruption: gaussian_noise, severity: 1}\n")
    store, marks = tmp_path / "store", tmp_path / "marks"
    pytester.makepyfile(test_shared=INNER.format(runners=str(RUNNERS), grid=str(grid), data=str(data), marks=str(marks)))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", f"--audiostress-store={store}")
    result.assert_outcomes(passed=4)
    rows = [line for line in summary.read_text().splitlines() if line.startswith("| test_shared.py::")]
    assert len(rows) == 8  # 4 tests x (eer[clean], delta_eer on the one cell), gathered from both workers
    written = [p.read_text().split() for p in sorted(marks.glob("*.txt"))]
    assert len(written) == 4
    assert {w[0] for w in written} == {"gw0", "gw1"}  # both workers asked for the sweep
    assert len({w[1] for w in written}) == 1  # ... and got the same directory
    assert _runs(store) == [(Path(written[0][1]), 1)]  # computed once
    again = pytester.runpytest("-p", "no:cacheprovider", f"--audiostress-store={store}")
    again.assert_outcomes(passed=4)
    assert _runs(store) == [(Path(written[0][1]), 1)]  # memoised across sessions: no new run
