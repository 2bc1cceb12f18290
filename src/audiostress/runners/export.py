"""The exporters of a finished sweep: one ordered list, used by ``run_sweep`` and ``merge_sweeps``.

Each exporter is a small object with a ``name`` that takes one ``ExportContext``
(the sweep directory, its rows and cells, the provenance and the metric
settings) and writes its files there, recording them in ``context.outputs``.
They run in list order, and a later one may use what an earlier one left in
the context (the report reads ``metrics.json``). A new output format is one
more entry in ``EXPORTERS``.

>>> [e.name for e in EXPORTERS]
['scores.csv', 'metrics.json', 'listen', 'report']

``listen`` writes the report's listening excerpts (``listen/``, see
``runners/listen.py``) by replaying pairs; it belongs to the report and is left
out with it (``report=False``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .grid import cells_for_metrics
from .rows import ScoreRow
from .store import export_scores_csv

logger = logging.getLogger("audiostress.export")


@dataclass
class ExportContext:
    """What every exporter reads; ``metrics`` and ``outputs`` are filled in as exporters run."""

    out: Path
    rows: Sequence[ScoreRow | Mapping[str, Any]]
    cells: list[dict[str, Any]]
    codec_pair: list[str] | None
    provenance: dict[str, Any]
    seed: int
    n_bootstrap: int = 1000
    reference: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    #: Exporter name -> the file it wrote (``None`` when it wrote nothing).
    outputs: dict[str, Path | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Exporter:
    """One output format: ``write(context)`` returns the path it wrote, or ``None``."""

    name: str
    write: Callable[[ExportContext], Path | None]

    def __call__(self, context: ExportContext) -> Path | None:
        path = self.write(context)
        context.outputs[self.name] = path
        return path


def _scores_csv(ctx: ExportContext) -> Path:
    return export_scores_csv(ctx.rows, ctx.out / "scores.csv")


def _metrics_json(ctx: ExportContext) -> Path:
    from ..metrics.summary import build_metrics, write_metrics

    rows = [r.as_dict() if isinstance(r, ScoreRow) else r for r in ctx.rows]
    metrics = build_metrics(
        rows, cells_for_metrics(ctx.cells), ctx.provenance, codec_pair_cells=ctx.codec_pair,
        reference=ctx.reference, n_bootstrap=ctx.n_bootstrap, seed=ctx.seed,
    )  # fmt: skip
    # Dataset rows that never became clips (provenance["dataset_problems"]) are counted by build_metrics:
    # one error each (cell "*", the clip id the row names or null, and the row) and coverage.clips_skipped.
    path = ctx.out / "metrics.json"
    write_metrics(path, metrics)
    ctx.metrics = metrics
    return path


def write_report_files(out: Path) -> Path | None:
    """Write report.html, summary.md and plots/ from ``out``'s metrics.json; ``None`` (logged) without the reports module."""
    try:
        from ..reports.html import write_report
    except ImportError as exc:
        logger.warning("report skipped: the reports module is not available (%s)", exc)
        return None
    return write_report([out])


def _listen(ctx: ExportContext) -> Path | None:
    from .listen import write_listening

    if ctx.metrics is None:
        return None
    return write_listening(ctx.out, ctx.rows, ctx.metrics)


def _report(ctx: ExportContext) -> Path | None:
    return write_report_files(ctx.out)


#: Every exporter, in the order they run.
EXPORTERS: tuple[Exporter, ...] = (
    Exporter("scores.csv", _scores_csv),
    Exporter("metrics.json", _metrics_json),
    Exporter("listen", _listen),
    Exporter("report", _report),
)
#: The data exporters (the listening excerpts and the report left out), as ``report=False`` runs them.
DATA_EXPORTERS: tuple[Exporter, ...] = tuple(e for e in EXPORTERS if e.name not in ("listen", "report"))


def run_exporters(context: ExportContext, exporters: Sequence[Exporter] = EXPORTERS) -> ExportContext:
    """Run ``exporters`` in order on ``context``; returns it (``metrics`` and ``outputs`` filled in)."""
    for exporter in exporters:
        exporter(context)
    return context


def exporters_for(report: bool) -> tuple[Exporter, ...]:
    """``EXPORTERS``, or ``DATA_EXPORTERS`` when ``report`` is off."""
    return EXPORTERS if report else DATA_EXPORTERS
