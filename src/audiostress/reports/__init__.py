"""Reports people read: plots, a self-contained HTML page, summary.md, multi-detector comparison.

>>> from audiostress.reports import write_report  # doctest: +SKIP
>>> write_report(["runs/a", "runs/b"], out_dir="runs/compare")  # doctest: +SKIP
"""

from .html import write_report
from .load import ReportError, Sweep, load_sweep, load_sweeps

__all__ = ["ReportError", "Sweep", "load_sweep", "load_sweeps", "write_report"]
