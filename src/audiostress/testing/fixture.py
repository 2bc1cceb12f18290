"""The object behind the ``robustness`` fixture: memoised sweeps and checks with this test's baseline.

Loaded only when a test asks for the fixture (the plugin module itself stays
import-light). Settings come from the plugin (:class:`Settings`); the per-test
defaults of ``@pytest.mark.audiostress(...)`` are applied under the call's own
arguments, and the command-line overrides (``--audiostress-grid`` and friends) over both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .baseline import Baseline, baseline_path
from .gates import CheckReport, GateFailure, check, flatten_gates
from .report import table_rows

__all__ = ["BaselineCreated", "Robustness", "Settings"]

#: Marker keys that set defaults of ``check`` rather than of ``sweep``.
CHECK_KEYS = ("ci", "min_n")


@dataclass(frozen=True)
class Settings:
    """The plugin's options for one session (command line over ini)."""

    store: Path
    baseline_dir: Path
    ci: str | None = None
    update: bool = False
    update_new_only: bool = False
    overrides: Mapping[str, Any] = field(default_factory=dict)
    #: A corrupted-audio cache folder every robustness sweep uses unless the call names its own ``cache``.
    cache: Path | None = None


class BaselineCreated(AssertionError):
    """The test had no baseline: one was written from this run; rerun to compare against it."""


class Robustness:
    """``robustness.sweep(...)`` (same arguments as ``audiostress.sweep``) and ``robustness.check(result, *gates)``."""

    def __init__(
        self, node_id: str, settings: Settings, marker: Mapping[str, Any],
        record_property: Callable[[str, object], None], record_rows: Callable[[list[dict[str, str]]], None],
    ) -> None:  # fmt: skip
        self.node_id = node_id
        self.settings = settings
        self.marker = dict(marker)
        self._record_property = record_property
        self._record_rows = record_rows

    @property
    def baseline_path(self) -> Path:
        """This test's baseline file: ``<baseline dir>/<node id>.json``."""
        return baseline_path(self.settings.baseline_dir, self.node_id)

    def sweep(self, detector: Any, data: Any, grid: Any = None, **kwargs: Any) -> Any:
        """Run (or reopen, memoised by identity under the store) a sweep; returns its ``SweepResult``."""
        from .memo import memo_sweep

        call = {k: v for k, v in self.marker.items() if k not in CHECK_KEYS}
        call.update(kwargs)
        if grid is not None:
            call["grid"] = grid
        call.update(self.settings.overrides)
        if self.settings.cache is not None:
            call.setdefault("cache", str(self.settings.cache))
        return memo_sweep(self.settings.store, detector, data, **call)

    def check(self, result: Any, *gates: Any, ci: str | None = None, min_n: int | None = None, baseline: Any = None) -> CheckReport:
        """``result.check(*gates)`` with this test's baseline file for ``baseline ± X`` gates.

        A missing baseline is written from this run and the test fails with "created …;
        rerun" (``--audiostress-update-new-only`` writes it without failing;
        ``--audiostress-update`` rewrites it). The values go to JUnit XML properties
        and to the ``$GITHUB_STEP_SUMMARY`` table.
        """
        __tracebackhide__ = True  # a failed gate is reported as the calling test's own failure
        parsed = flatten_gates(gates)
        mode = ci or self.settings.ci or self.marker.get("ci")
        limit = min_n if min_n is not None else self.marker.get("min_n")
        created: Path | None = None
        if baseline is None and any(g.uses_baseline for g in parsed):
            path = self.baseline_path
            if self.settings.update or not path.exists():
                created = Baseline.from_result(result, node_id=self.node_id).write(path)
                parsed = [g for g in parsed if not g.uses_baseline]
            else:
                baseline = path
        report: CheckReport | None = None
        try:
            report = check(result, *parsed, ci=mode, baseline=baseline, min_n=limit) if parsed else None
        except GateFailure as failure:
            self._record(failure.report)
            if created is not None and not (self.settings.update or self.settings.update_new_only):
                raise BaselineCreated(f"audiostress baseline created {created}; rerun to compare against it\n{failure}") from failure
            raise
        if report is not None:
            self._record(report)
        if created is not None and not (self.settings.update or self.settings.update_new_only):
            raise BaselineCreated(f"audiostress baseline created {created}; rerun to compare against it")
        return report if report is not None else CheckReport(result, [], mode or "point", limit or 0)

    def _record(self, report: CheckReport) -> None:
        rows = table_rows(report)
        for row in rows:
            self._record_property(f"audiostress {row['gate']} [{row['cell']}]", f"{row['value']} ci={row['ci']} n={row['n']} {row['result']}")
        self._record_rows(rows)
