"""The audiostress pytest plugin (entry point ``pytest11: audiostress``; opt out with ``-p no:audiostress``).

pytest imports this module in every run of an environment that has audiostress, so it
imports only the standard library and pytest; the sweep and gate machinery loads when
a test first uses the ``robustness`` fixture.

- fixture ``robustness``: ``robustness.sweep(detector, data, grid=..., **kwargs)``
  (memoised by identity under ``--audiostress-store``, one computation per sweep
  across xdist workers) and ``robustness.check(result, *gates)`` (with this test's
  baseline file for ``baseline ± X`` gates);
- marker ``@pytest.mark.audiostress(grid=..., limit=..., seed=..., device=..., ci=..., min_n=...)``:
  per-test defaults; an unknown key is a usage error;
- options ``--audiostress-*``, each mirrored as an ini key ``audiostress_*``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

#: (option suffix, ini type, help). Command-line values win over the ini file's.
_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("update", "bool", "write or refresh the baselines of the tests that run (refused with more than one xdist worker)"),
    ("update-new-only", "bool", "write missing baselines without failing; leave existing ones alone"),
    ("baseline-dir", "string", "folder of the baseline files (default: <rootdir>/audiostress_baselines)"),
    ("store", "string", "folder of the memoised sweeps (default: the pytest cache dir)"),
    ("ci", "string", "decision mode of every gate: point | strict | lenient"),
    ("device", "string", "override the device of every robustness sweep"),
    ("workers", "string", "override the corruption workers of every robustness sweep"),
    ("limit", "string", "override the clip limit of every robustness sweep (smoke runs)"),
    ("grid", "string", "override the grid of every robustness sweep (preset or YAML)"),
    ("skip", "bool", "skip every test that uses the robustness fixture or the audiostress marker"),
)
_CI_MODES = ("point", "strict", "lenient")
#: Marker keys beyond ``audiostress.sweep``'s settings: defaults of ``check``.
_CHECK_KEYS = ("ci", "min_n")
_SWEEP_KEYS = ("grid", "checkpoint", "seed", "limit", "workers", "batch_size", "device")
_ROWS_KEY = "audiostress_rows"
_STASH_ROWS = pytest.StashKey[list[dict[str, str]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("audiostress", "audiostress robustness gates")
    for suffix, kind, text in _OPTIONS:
        dest = "audiostress_" + suffix.replace("-", "_")
        ini_help = f"{text} (as --audiostress-{suffix})"
        if kind == "bool":
            group.addoption(f"--audiostress-{suffix}", action="store_true", default=None, dest=dest, help=text)
            parser.addini(dest, ini_help, type="bool", default=None)
        else:
            group.addoption(f"--audiostress-{suffix}", action="store", default=None, dest=dest, help=text)
            parser.addini(dest, ini_help, type="string", default=None)


def _value(config: pytest.Config, suffix: str) -> Any:
    dest = "audiostress_" + suffix.replace("-", "_")
    given = config.getoption(dest)
    if given is not None:
        return given
    ini = config.getini(dest)
    return ini if ini not in ("", None) else None


def _xdist_workers(config: pytest.Config) -> int:
    """How many xdist workers this session runs with (1 without xdist)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return int(workerinput.get("workercount", 1))
    if not config.pluginmanager.hasplugin("xdist"):
        return 1
    n = getattr(config.option, "numprocesses", None)
    if n in (None, 0, "0"):
        return 1
    try:
        return int(n)
    except (TypeError, ValueError):
        return os.cpu_count() or 2  # "auto" / "logical": assume several


class _XdistRows:
    """Controller side under xdist: collect each worker's table rows when it goes down."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        text = getattr(node, "workeroutput", {}).get(_ROWS_KEY)
        if text:
            self.config.stash[_STASH_ROWS].extend(json.loads(text))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "audiostress(grid=..., limit=..., seed=..., device=..., ci=..., min_n=...): defaults of the robustness fixture's sweeps and checks",
    )
    config.stash[_STASH_ROWS] = []
    ci = _value(config, "ci")
    if ci is not None and ci not in _CI_MODES:
        raise pytest.UsageError(f"--audiostress-ci: expected one of {', '.join(_CI_MODES)}, got {ci!r}")
    workers = _xdist_workers(config)
    if _value(config, "update") and workers > 1:
        raise pytest.UsageError(
            f"--audiostress-update refused with {workers} xdist workers: parallel updates of baseline files can corrupt "
            "them; rerun with -n 0 (or -p no:xdist) to update, then run in parallel"
        )
    if config.pluginmanager.hasplugin("xdist") and getattr(config, "workerinput", None) is None:
        config.pluginmanager.register(_XdistRows(config), "audiostress-xdist-rows")


def _marker_kwargs(item: pytest.Item) -> dict[str, Any]:
    """The audiostress marker's keywords (closest first wins); usage error on positional args or unknown keys."""
    from audiostress.api import OPTIONS

    allowed = {*_SWEEP_KEYS, *OPTIONS, *_CHECK_KEYS}
    merged: dict[str, Any] = {}
    for mark in reversed(list(item.iter_markers("audiostress"))):
        if mark.args:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.audiostress takes keywords only, got positional {mark.args!r}")
        unknown = sorted(set(mark.kwargs) - allowed)
        if unknown:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.audiostress got unknown key {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}"
            )
        merged.update(mark.kwargs)
    ci = merged.get("ci")
    if ci is not None and ci not in _CI_MODES:
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.audiostress(ci={ci!r}); expected one of {', '.join(_CI_MODES)}")
    return merged


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = bool(_value(config, "skip"))
    for item in items:
        marked = item.get_closest_marker("audiostress") is not None
        if marked:
            item.stash[_MARKER_KEY] = _marker_kwargs(item)
        if skip and (marked or "robustness" in getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.skip(reason="--audiostress-skip"))


_MARKER_KEY = pytest.StashKey[dict[str, Any]]()


def _store(config: pytest.Config) -> Path:
    given = _value(config, "store")
    if given:
        return Path(str(given)).expanduser().resolve()
    cache = getattr(config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("audiostress"))
    from audiostress._paths import cache_root

    return cache_root() / "pytest-store"


def _overrides(config: pytest.Config) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("device", "grid"):
        value = _value(config, key)
        if value is not None:
            out[key] = str(value)
    for key in ("workers", "limit"):
        value = _value(config, key)
        if value is not None:
            try:
                out[key] = int(value)
            except ValueError as exc:
                raise pytest.UsageError(f"--audiostress-{key}: expected an integer, got {value!r}") from exc
    return out


@pytest.fixture
def robustness(request: pytest.FixtureRequest, record_property: Any) -> Any:
    """Memoised sweeps (``robustness.sweep``) and gate checks with this test's baseline (``robustness.check``)."""
    config = request.config
    if _value(config, "skip"):
        pytest.skip("--audiostress-skip")
    from audiostress.testing.fixture import Robustness, Settings

    baseline_dir = _value(config, "baseline-dir")
    settings = Settings(
        store=_store(config),
        baseline_dir=Path(str(baseline_dir)).expanduser().resolve() if baseline_dir else config.rootpath / "audiostress_baselines",
        ci=_value(config, "ci"),
        update=bool(_value(config, "update")),
        update_new_only=bool(_value(config, "update-new-only")),
        overrides=_overrides(config),
    )
    marker = request.node.stash.get(_MARKER_KEY, {})
    rows = config.stash[_STASH_ROWS]

    def record_rows(new: list[dict[str, str]]) -> None:
        rows.extend({"test": request.node.nodeid, **row} for row in new)

    return Robustness(request.node.nodeid, settings, marker, record_property, record_rows)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    rows = config.stash.get(_STASH_ROWS, [])
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the rows to the controller
        workeroutput[_ROWS_KEY] = json.dumps(rows)
        return
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and rows:
        from audiostress.testing.report import TABLE_COLUMNS, rows_markdown

        table = rows_markdown(sorted(rows, key=lambda r: r["test"]), ("test", *TABLE_COLUMNS))
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(f"\n### audiostress robustness gates\n\n{table}\n")
