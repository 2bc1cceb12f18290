"""report.html, summary.md and the plots are written atomically, and the report deletes only its own files."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fake_sweep import make_sweep

from audiostress.reports import write_report
from audiostress.reports.html import MANIFEST_NAME


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_sweep(tmp_path_factory.mktemp("atomic") / "s")
    write_report(root)
    return root


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_plots_keeps_other_files_and_removes_only_unchanged_stale_figures(reported: Path) -> None:
    plots = reported / "plots"
    manifest = json.loads((plots / MANIFEST_NAME).read_text())
    made = sorted(p.name for p in plots.iterdir() if p.suffix in (".png", ".svg"))
    assert sorted(manifest) == made and all(manifest[n] == _sha(plots / n) for n in made)
    foreign = plots / "curves_from_another_run.png"  # a name the old report deleted by prefix
    foreign.write_bytes(b"someone else's figure")
    stale, edited = plots / "curves_retired.png", plots / "attack_matrix_old.svg"
    stale.write_bytes(b"an old figure of ours")
    edited.write_bytes(b"ours once, edited since")
    manifest.update({stale.name: _sha(stale), edited.name: hashlib.sha256(b"what we wrote").hexdigest()})
    (plots / MANIFEST_NAME).write_text(json.dumps(manifest))
    write_report(reported)
    assert foreign.read_bytes() == b"someone else's figure"  # never ours: left alone
    assert not stale.exists()  # ours, unchanged, no longer made: removed
    assert edited.read_bytes() == b"ours once, edited since"  # changed since we wrote it: left alone
    assert sorted(json.loads((plots / MANIFEST_NAME).read_text())) == made
    assert not list(reported.rglob("*.tmp"))


_FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    from audiostress.reports import write_report
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG, like a full disk
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        write_report(sys.argv[1])
    except OSError as exc:
        print("failed:", exc.strerror)
        sys.exit(3)
""")


def test_a_write_that_fails_midway_leaves_the_previous_report_whole(reported: Path) -> None:
    report = reported / "report.html"
    before = report.read_bytes()
    others = [p for p in reported.rglob("*") if p.is_file() and p != report]
    # Large enough for every figure and summary.md, too small for the page that embeds all the figures.
    limit = int(max(p.stat().st_size for p in others) * 1.2) + 4096
    assert limit < len(before), (limit, len(before))
    metrics = json.loads((reported / "metrics.json").read_text())
    metrics["provenance"]["detector"]["name"] = "renamed-detector"  # the new page would differ
    (reported / "metrics.json").write_text(json.dumps(metrics))
    manifest = reported / "plots" / MANIFEST_NAME
    manifest.write_text(manifest.read_text() + " ")  # rewritten by the report after its last figure
    done = subprocess.run([sys.executable, "-c", _FULL_DISK, str(reported), str(limit)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "File too large" in done.stdout
    assert not manifest.read_text().endswith(" ")  # every figure was written: the page was what failed
    assert report.read_bytes() == before  # the previous page, whole
    assert not list(reported.rglob("*.tmp")) and not list(reported.rglob(".report.html*"))
